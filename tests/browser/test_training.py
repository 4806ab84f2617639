"""An admin makes a dataset from files on disk, trains a LoRA on it, watches the bar reach 100 % without
reloading, and generates with the new LoRA."""

import pytest
from django.urls import reverse
from PIL import Image, ImageDraw
from playwright.sync_api import Page, expect

from miaohua_site.accounts.services import upstream_account_store
from miaohua_site.simulator import catalog
from miaohua_site.workers import engine
from training.models import Dataset, DatasetImage, TrainingJob

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def pictures(tmp_path):
    paths = []
    for i, colour in enumerate(["teal", "orange", "purple"]):
        image = Image.new("RGB", (512, 512), colour)
        ImageDraw.Draw(image).ellipse((96, 96, 416, 416), fill="white")
        path = tmp_path / f"cat-{i}.png"
        image.save(path)
        paths.append(path)
    tiny = tmp_path / "tiny.png"
    Image.new("RGB", (64, 64), "red").save(tiny)
    return [*paths, tiny]


def test_a_dataset_from_disk_trains_a_lora_that_generates(
    sign_in, admin_user, simulator_url, settings, tmp_path, pictures, monkeypatch, page: Page
):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MIAOHUA_SIMULATOR_TRAIN_SECONDS = 6
    settings.TRAINING_POLL_INTERVAL_SECONDS = 0.5
    settings.GENERATION_POLL_INTERVAL_SECONDS = 0.1
    # One file at a time: the live server's threads share one in-memory SQLite connection in tests.
    settings.TRAINING_UPLOAD_PARALLEL = 1
    catalog.ensure_seeded()
    upstream_account_store(user=admin_user, email="demo@example.com", password="demo")

    sign_in("admin", "admin-pass-123")
    page.get_by_role("link", name="Datasets").click()
    page.get_by_role("link", name="New dataset").click()
    page.get_by_label("Name").fill("Round cats")
    page.get_by_role("button", name="Create dataset").click()

    # Files from disk: each goes to the dashboard with its own progress; the worker (inline here) sends them on.
    page.get_by_label("Images to add").set_input_files([str(p) for p in pictures])
    uploads = page.get_by_role("list", name="Files being sent")
    expect(uploads.get_by_text("At Miaohua", exact=True)).to_have_count(3, timeout=15_000)  # follows the rows
    expect(uploads.get_by_text("Refused: This image is 64×64")).to_be_visible()
    expect(page.get_by_role("progressbar", name="Upload to the dashboard")).to_have_attribute("aria-valuenow", "100")
    expect(page.get_by_role("progressbar", name="Images at Miaohua")).to_have_attribute(
        "aria-valuenow", "100", timeout=15_000
    )
    expect(page.get_by_text("3 of 3 at Miaohua")).to_be_visible()
    expect(page.get_by_label("Refused: tiny.png")).to_contain_text("64×64")
    dataset = Dataset.objects.get(name="Round cats")
    assert dataset.vendor_dataset_id and dataset.images.filter(state=DatasetImage.State.ADDED).count() == 3

    # Training: the engine is held back until the page shows the queued job; then it runs while the page polls.
    monkeypatch.setattr(engine, "wake", lambda: None)
    page.get_by_role("link", name="Train a LoRA on it").click()
    page.get_by_label("Name", exact=True).fill("Round cats LoRA")
    page.get_by_label("Trigger word").fill("roundcat")
    page.get_by_label("Subject").select_option("Animals")
    expect(page.get_by_label("Round cats (3 images)")).to_be_checked()
    page.get_by_role("button", name="Start training").click()

    card = page.get_by_role("article", name="Training Round cats LoRA")
    expect(card).to_contain_text("Queued")
    page.evaluate(
        """() => {
          window.__notReloaded = true;
          window.__seen = [];
          document.addEventListener("htmx:afterSettle", () => {
            const bar = document.querySelector("[aria-label='Training progress of Round cats LoRA']");
            if (bar) window.__seen.push(Number(bar.getAttribute("aria-valuenow")));
          });
        }"""
    )
    job = TrainingJob.objects.get()
    monkeypatch.undo()  # the engine runs inline in tests again
    engine.run_until_idle()  # what the workers do: train_submit, then the poller until done

    bar = card.get_by_role("progressbar", name="Training progress of Round cats LoRA")
    expect(bar).to_have_attribute("aria-valuenow", "100", timeout=15_000)
    expect(card).to_contain_text("Done")
    seen = page.evaluate("window.__seen")
    assert any(0 < value < 100 for value in seen), seen  # it moved in place
    assert page.evaluate("window.__notReloaded") is True
    expect(card.get_by_role("list", name="Log of Round cats LoRA")).to_contain_text("Training at Miaohua.")
    expect(page.get_by_role("status").filter(has_text="Training finished: Round cats LoRA")).to_be_visible(
        timeout=10_000
    )

    job.refresh_from_db()
    assert job.lora_versionid
    card.get_by_role("link", name="Generate with this LoRA").click()
    expect(page.get_by_role("heading", name="Generate")).to_be_visible()
    expect(page.get_by_label("LoRA", exact=True)).to_have_value(job.lora_versionid)
    expect(page.get_by_label("Prompt", exact=True)).to_have_value("roundcat")
    page.get_by_label("Prompt", exact=True).fill("roundcat, a cat asleep in the sun")
    page.get_by_role("button", name="Generate").click()

    task_card = page.get_by_role("article").first
    expect(task_card).to_contain_text("a cat asleep in the sun")
    expect(task_card).to_contain_text("Done", timeout=15_000)
    assert admin_user.generation_tasks.get().lora_versionid == job.lora_versionid


def test_the_upload_panel_follows_the_images_and_lists_every_refused_file(
    sign_in, live_server, admin_user, simulator_url, settings, tmp_path, page: Page
):
    """Twelve files: nine good ones, two Miaohua refuses (too small, not an image) and one over 5 MB. Each row of
    the panel follows its image to Miaohua; the panel and the page agree on what was refused, the big one too."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TRAINING_UPLOAD_PARALLEL = 1  # the live server's threads share one SQLite connection in tests
    catalog.ensure_seeded()
    account = upstream_account_store(user=admin_user, email="demo@example.com", password="demo")
    dataset = Dataset.objects.create(name="Twelve", upstream_account=account, account_email=account.email)
    files = []
    for i in range(9):
        path = tmp_path / f"good-{i}.png"
        Image.new("RGB", (300, 300), (20 * i, 120, 200)).save(path)
        files.append(path)
    Image.new("RGB", (64, 64), "red").save(tmp_path / "tiny.png")
    (tmp_path / "notes.png").write_bytes(b"a text file with a picture's name")
    (tmp_path / "big.png").write_bytes(b"\0" * (6 * 1024 * 1024))
    files += [tmp_path / "tiny.png", tmp_path / "notes.png", tmp_path / "big.png"]

    sign_in("admin", "admin-pass-123")
    expect(page.get_by_role("heading", name="Generate")).to_be_visible()
    page.goto(live_server.url + reverse("dataset_detail", args=[dataset.pk]))
    page.get_by_label("Images to add").set_input_files([str(p) for p in files])

    uploads = page.get_by_role("list", name="Files being sent")
    expect(uploads.get_by_text("At Miaohua", exact=True)).to_have_count(9, timeout=20_000)
    expect(uploads.get_by_text("Received — waiting to be sent to Miaohua")).to_have_count(0)
    expect(uploads.get_by_text("Refused:")).to_have_count(3)
    expect(uploads.get_by_text("Refused: This image is over 5 MB")).to_be_visible()
    expect(page.get_by_text("9 of 9 files")).to_be_visible()
    expect(page.locator("[data-upload-summary]")).to_contain_text("9 at Miaohua · 3 refused")

    for name in ("tiny.png", "notes.png", "big.png"):
        expect(page.get_by_label(f"Refused: {name}")).to_be_visible()
    expect(page.locator(".refused-list > li")).to_have_count(3)
    expect(page.locator(".state-chips")).to_contain_text("3 refused")
    expect(page.get_by_text("9 of 9 at Miaohua")).to_be_visible()
