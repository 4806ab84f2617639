"""In Simplified Chinese (issue #11): an admin makes a dataset, uploads images (one refused), starts a training and
watches its state labels, its log and the notice, all in Chinese (tests/browser/test_training.py in English)."""

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


def test_a_dataset_is_made_and_trained_in_chinese(
    sign_in, live_server, admin_user, simulator_url, settings, tmp_path, pictures, monkeypatch, page: Page
):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MIAOHUA_SIMULATOR_TRAIN_SECONDS = 6
    settings.TRAINING_POLL_INTERVAL_SECONDS = 0.5
    # One file at a time: the live server's threads share one in-memory SQLite connection in tests.
    settings.TRAINING_UPLOAD_PARALLEL = 1
    catalog.ensure_seeded()
    upstream_account_store(user=admin_user, email="demo@example.com", password="demo")

    sign_in("admin", "admin-pass-123")
    page.context.add_cookies([{"name": "django_language", "value": "zh-hans", "url": live_server.url}])
    page.goto(live_server.url + reverse("dataset_list"))
    expect(page.get_by_role("heading", name="数据集", exact=True)).to_be_visible()
    page.get_by_role("link", name="新建数据集").click()
    expect(page.get_by_role("heading", name="新建数据集")).to_be_visible()
    page.get_by_label("名称").fill("圆猫")
    page.get_by_role("button", name="创建数据集").click()
    expect(page.get_by_text("数据集「圆猫」已创建，请在下方添加图片。")).to_be_visible()
    expect(page.get_by_text("尚未上传到妙画")).to_be_visible()

    # The upload panel: each file's state, the summary and the bars, in Chinese.
    page.get_by_label("要添加的图片").set_input_files([str(p) for p in pictures])
    uploads = page.get_by_role("list", name="正在发送的文件")
    expect(uploads.get_by_text("已在妙画", exact=True)).to_have_count(3, timeout=15_000)
    expect(uploads.get_by_text("被拒绝：")).to_have_count(1)
    expect(page.locator("[data-upload-summary]")).to_contain_text("3 / 3 个文件")
    expect(page.locator("[data-upload-summary]")).to_contain_text("3 张已在妙画 · 1 张被拒绝")
    expect(page.get_by_role("progressbar", name="上传到工作室")).to_have_attribute("aria-valuenow", "100")
    expect(page.get_by_role("progressbar", name="已在妙画的图片")).to_have_attribute(
        "aria-valuenow", "100", timeout=15_000
    )
    expect(page.get_by_text("3 / 3 张已在妙画")).to_be_visible()
    expect(page.get_by_label("被拒绝：tiny.png")).to_be_visible()
    expect(page.get_by_role("heading", name="被拒绝的文件")).to_be_visible()
    expect(page.get_by_label("cat-0.png: 已添加")).to_be_visible()
    dataset = Dataset.objects.get(name="圆猫")
    assert dataset.vendor_dataset_id and dataset.images.filter(state=DatasetImage.State.ADDED).count() == 3

    # Training: held back until the page shows the queued job, then it runs while the page polls.
    monkeypatch.setattr(engine, "wake", lambda: None)
    page.get_by_role("link", name="用它训练 LoRA").click()
    expect(page.get_by_role("heading", name="新建训练")).to_be_visible()
    page.get_by_label("名称", exact=True).fill("Round cats LoRA")
    page.get_by_label("触发词").fill("roundcat")
    page.get_by_label("训练主体").select_option("Animals")
    expect(page.get_by_label("圆猫（3 张图片）")).to_be_checked()
    page.get_by_role("button", name="开始训练").click()

    card = page.get_by_role("article", name="训练任务 Round cats LoRA")
    expect(card.locator(".badge")).to_have_text("排队中")
    TrainingJob.objects.get()
    monkeypatch.undo()  # the engine runs inline in tests again
    engine.run_until_idle()  # train_submit, then the poller until done

    bar = card.get_by_role("progressbar", name="Round cats LoRA 的训练进度")
    expect(bar).to_have_attribute("aria-valuenow", "100", timeout=15_000)
    expect(card.locator(".badge")).to_have_text("已完成")
    log = card.get_by_role("list", name="Round cats LoRA 的日志")
    for line in ("排队中。", "正在发送到妙画。", "妙画已接受。", "正在妙画上训练。"):
        expect(log).to_contain_text(line)
    expect(log).to_contain_text("已完成：LoRA")
    expect(card.get_by_role("link", name="用此 LoRA 生成")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="训练已完成：Round cats LoRA")).to_be_visible(timeout=10_000)
