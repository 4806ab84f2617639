"""X/Y/Z sweeps (issue #13 part 3): the values typed A1111-style, checked beside their axis; one ordinary task per
cell; the estimate before it runs (with and without quotas); the sweep's page with its live grid; cancel (a task
not sent yet is never sent); the grid as one PNG and the tasks as a ZIP; nobody but the owner sees any of it."""

import io
import uuid
import zipfile
from types import SimpleNamespace

import pytest
from django.urls import reverse
from PIL import Image

from generation import services as generation_services
from generation import sweeps
from generation.models import GenerationTask, TaskGroup
from generation.plans import TaskPlan
from generation.services import sweeps as sweep_services
from miaohua_site.accounts.services import upstream_account_store
from team.models import Membership
from tests.generation.test_views import form_data

State = GenerationTask.State
live = pytest.mark.django_db(transaction=True)

CATS = SimpleNamespace(
    base_models=[
        SimpleNamespace(versionid="sgl_artist_v0.3.5_0925", model_name="Artist v0.3.5"),
        SimpleNamespace(versionid="sdxl_base_v1.0", model_name="SDXL 1.0"),
    ],
    loras=[SimpleNamespace(versionid="lora_ink_sketch_v1", model_name="Ink Sketch")],
    private_models=[],
)


def sweep_form(base=None, **axes):
    """A SweepForm bound to a Generate form's POST: ``x=("scale", "5, 7")`` sets the X axis."""
    data = dict(base or {"prompt": "a red fox in the snow", "lora_versionid": "lora_ink_sketch_v1"})
    for letter, (kind, values) in axes.items():
        data[f"sweep-{letter}_kind"], data[f"sweep-{letter}_values"] = kind, values
    form = sweeps.SweepForm(data, user=None, cats=CATS, prefix="sweep")
    form.is_valid()
    return form


def values_of(kind, text):
    form = sweep_form(x=(kind, text))
    assert form.is_valid(), form.errors
    return form.axes[0].values


# --- Parsing ------------------------------------------------------------------------------------------------


def test_it_reads_lists_ranges_steps_and_counts():
    assert values_of("scale", "5, 7,9") == [5, 7, 9]
    assert values_of("steps", "10-30 (+5)") == [10, 15, 20, 25, 30]
    assert values_of("seed", "1-5") == [1, 2, 3, 4, 5]
    assert values_of("seed", "5-1") == [5, 4, 3, 2, 1]
    assert values_of("steps", "10-30 [3]") == [10, 20, 30]
    assert values_of("lora_weight", "0-1 [5]") == [0, 0.25, 0.5, 0.75, 1]
    assert values_of("lora_weight", "0.2-0.8 (+0.3)") == [0.2, 0.5, 0.8]
    assert values_of("seed", "-1, 3") == [-1, 3]
    assert values_of("size", "640x640, 768 × 1024") == ["640x640", "768x1024"]
    assert values_of("model", "SDXL 1.0, sgl_artist_v0.3.5_0925") == ["sdxl_base_v1.0", "sgl_artist_v0.3.5_0925"]


@pytest.mark.parametrize(
    "kind, text, message",
    [
        ("scale", "5, seven", "“seven” is not a number or a range"),
        ("scale", "7.5", "These values must be whole numbers."),
        ("scale", "nan", "“nan” is not a number"),
        ("steps", "1e999", "“1e999” is not a number"),
        ("lora_weight", "inf", "“inf” is not a number"),
        ("scale", "0, 7", "0 is outside 1–20, what this setting takes."),
        ("steps", "100-200 (+50)", "200 is outside 1–150"),
        ("steps", "10-30 (-5)", "the step must go from the first number towards the second"),
        ("steps", "10-30 [0]", "a count in [ ] must be 1 or more"),
        ("seed", "1-999999", "more than 100 values"),
        ("lora_weight", "2.5", "2.5 is outside 0–2"),
        ("size", "640", "“640” is not a size such as 640x640."),
        ("size", "100x640", "each side must be 512–6144 pixels"),
        ("model", "Artist, Nope v9", "There is no base model “Artist” in the catalog."),
        ("lora", "Oil Paint", "There is no LoRA “Oil Paint” in the catalog."),
        ("prompt_sr", "wolf, cat", "The prompt does not contain “wolf”."),
        ("scale", "  ", "Enter this axis's values"),
    ],
)
def test_bad_values_get_a_message_beside_their_axis(kind, text, message):
    form = sweep_form(y=(kind, text))
    assert not form.is_valid()
    assert message in " ".join(form.errors["y_values"])
    assert "x_values" not in form.errors


def test_the_same_setting_on_two_axes_is_an_error():
    form = sweep_form(x=("scale", "5, 7"), y=("scale", "9"))
    assert "Guidance scale is already the X axis" in form.errors["y_kind"][0]


def test_a_lora_weight_sweep_needs_a_lora_and_a_controlnet_weight_a_unit():
    assert "needs a LoRA" in sweep_form({"prompt": "p"}, x=("lora_weight", "0.5, 1"))["x_values"].errors[0]
    assert sweep_form({"prompt": "p", "lora_versionid": "lora_ink_sketch_v1"}, x=("lora_weight", "0.5, 1")).is_valid()
    assert sweep_form(x=("lora_weight", "0.5, 1"), y=("lora", "Ink Sketch")).is_valid()
    assert "at least one ControlNet unit" in sweep_form({"prompt": "p"}, x=("cn_weight", "0.5"))["x_values"].errors[0]
    assert sweep_form({"prompt": "p", "cn-0-cn": "canny"}, x=("cn_weight", "0.5, 1")).is_valid()


def test_too_many_cells_are_refused_with_the_cap(settings):
    settings.GENERATION_SWEEP_MAX_TASKS = 20
    form = sweep_form(x=("scale", "1-5"), y=("steps", "10-50 (+10)"))
    assert not form.is_valid()
    assert "This sweep has 25 cells; a sweep makes at most 20 tasks" in form.non_field_errors()[0]


# --- Expansion ----------------------------------------------------------------------------------------------


def batch_of(n=1, seed=42):
    params = {"prompt": "a red fox in the snow", "neg_prompt": "", "n_images": 2, "scale": 7, "ddim_steps": 20}
    return [TaskPlan(params={**params, "select_seed": seed}, model_name="Artist v0.3.5") for _ in range(n)]


def test_no_axis_leaves_the_tasks_as_they_are():
    tasks = batch_of(2)
    plan = sweeps.expand(sweep_form(), form=None, tasks=tasks)
    assert plan.kind is None and plan.tasks == tasks


def test_each_cell_is_a_task_in_z_y_x_order_with_its_params():
    form = sweep_form(x=("scale", "5, 9"), y=("prompt_sr", "fox, wolf, owl"), z=("model", "Artist v0.3.5, SDXL 1.0"))
    plan = sweeps.expand(form, form=None, tasks=batch_of())
    assert (plan.kind, plan.n_tasks, plan.n_images) == ("sweep", 12, 24)
    assert [t.cell for t in plan.tasks[:4]] == [[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]]
    assert plan.tasks[-1].cell == [1, 2, 1]
    first, last = plan.tasks[0], plan.tasks[-1]
    assert first.params["scale"] == 5 and first.params["prompt"] == "a red fox in the snow"
    assert last.params["scale"] == 9 and last.params["prompt"] == "a red owl in the snow"
    assert last.params["versionid"] == "sdxl_base_v1.0" and last.model_name == "SDXL 1.0"
    assert first.model_name == "Artist v0.3.5"
    assert [axis["kind"] for axis in plan.axes] == ["scale", "prompt_sr", "model"]
    assert plan.axes[2]["labels"] == ["Artist v0.3.5", "SDXL 1.0"] and plan.axes[1]["search"] == "fox"


def test_a_random_seed_is_picked_once_for_the_whole_grid_unless_the_seed_is_an_axis():
    seeds = iter([111, 222])
    plan = sweeps.expand(
        sweep_form(x=("scale", "5, 7, 9")), form=None, tasks=batch_of(2, seed=-1), seed_picker=lambda: next(seeds)
    )
    assert [t.params["select_seed"] for t in plan.tasks] == [111, 111, 111, 222, 222, 222]  # one per batch task
    plan = sweeps.expand(sweep_form(x=("seed", "1, 2")), form=None, tasks=batch_of(1, seed=-1))
    assert [t.params["select_seed"] for t in plan.tasks] == [1, 2]


def test_lora_and_controlnet_weights_go_into_every_config():
    base = {"prompt": "p", "cn-0-cn": "canny", "lora_versionid": "lora_ink_sketch_v1"}
    form = sweep_form(base, x=("lora_weight", "0.5, 1"), y=("cn_weight", "0.2"), z=("lora", "Ink Sketch"))
    tasks = batch_of()
    tasks[0].params["cn_configs"] = [{"cn": "canny", "weight": 1}, {"cn": "tile", "weight": 1}]
    plan = sweeps.expand(form, form=None, tasks=tasks)
    assert plan.tasks[1].params["lora_configs"] == [{"versionid": "lora_ink_sketch_v1", "merge_weight": 1}]
    assert [c["weight"] for c in plan.tasks[1].params["cn_configs"]] == [0.2, 0.2]


def test_a_batch_times_the_cells_over_the_cap_is_refused(settings):
    settings.GENERATION_SWEEP_MAX_TASKS = 10
    form = sweep_form(x=("scale", "1-4"))
    assert sweeps.expand(form, form=None, tasks=batch_of(3)) is None
    assert "This sweep makes 12 tasks (4 cells × 3 of the batch)" in form.non_field_errors()[0]


# --- Through the pages --------------------------------------------------------------------------------------


@pytest.fixture
def connected(client, owner, simulator_url, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.GENERATION_POLL_INTERVAL_SECONDS = 0.1
    upstream_account_store(user=owner, email="demo@example.com", password="demo")
    client.force_login(owner)
    client.get(reverse("generate"))  # the catalogs into the cache
    return client


def sweep_post(**axes):
    data = form_data(n_images="1")
    for letter, (kind, values) in axes.items():
        data[f"sweep-{letter}_kind"], data[f"sweep-{letter}_values"] = kind, values
    return data


@live
def test_a_sweep_runs_as_ordinary_tasks_and_fills_its_grid(connected, owner):
    response = connected.post(reverse("generate"), sweep_post(x=("scale", "5, 9"), y=("steps", "10, 20")))

    group = TaskGroup.objects.get(owner=owner)
    assert response.status_code == 302 and response["Location"] == reverse("sweep_detail", args=[group.pk])
    assert (group.kind, group.n_tasks, group.n_images) == ("sweep", 4, 4)
    tasks = list(group.tasks.order_by("group_index"))
    assert [(t.params["scale"], t.params["ddim_steps"]) for t in tasks] == [(5, 10), (9, 10), (5, 20), (9, 20)]
    assert all(t.state == State.DONE for t in tasks)  # the engine ran inline: each an ordinary task
    history = connected.get(reverse("history")).content.decode()
    assert all(f"#{t.pk}" in history or f"task-{t.pk}" in history or f"/tasks/{t.pk}/" in history for t in tasks)

    page = connected.get(response["Location"]).content.decode()
    assert "4 of 4 done" in page and "Guidance scale" in page and "Steps" in page
    assert page.count('class="p-1 text-center sweep-cell"') == 4
    for task in tasks:
        assert reverse("image_detail", args=[task.images.first().pk]) in page
    grid = connected.get(reverse("sweep_grid", args=[group.pk]))
    assert grid.status_code == 286 and "hx-trigger" not in grid.content.decode()  # settled: polling ends


@live
def test_the_grid_polls_while_cells_are_running(connected, owner, engine_held):
    connected.post(reverse("generate"), sweep_post(x=("scale", "5, 9")))
    group = TaskGroup.objects.get(owner=owner)
    grid = connected.get(reverse("sweep_grid", args=[group.pk]))
    assert grid.status_code == 200 and 'hx-trigger="every 2s"' in grid.content.decode()
    assert "0 of 2 done" in grid.content.decode() and "Queued" in grid.content.decode()
    engine_held()
    assert connected.get(reverse("sweep_grid", args=[group.pk])).status_code == 286


@live
def test_cancel_fails_the_queued_tasks_which_are_never_sent_and_lets_the_sent_one_finish(connected, owner, engine_held):
    connected.post(reverse("generate"), sweep_post(x=("seed", "1-3")))
    group = TaskGroup.objects.get(owner=owner)
    first, *rest = group.tasks.order_by("group_index")
    assert generation_services.generation_send(task_id=first.pk)  # already sent to Miaohua
    first.refresh_from_db()
    assert first.state == State.PENDING and first.upstream_task_id

    response = connected.post(reverse("sweep_cancel", args=[group.pk]))
    assert response.status_code == 302
    engine_held()  # the submit lane runs: a cancelled task is not claimed

    group.refresh_from_db()
    assert group.cancelled_at is not None
    for task in rest:
        task.refresh_from_db()
        assert task.state == State.FAILED and task.error_message == "Cancelled before it was sent."
        assert not task.upstream_task_id and task.submit_attempted_at is None
        assert generation_services.generation_send(task_id=task.pk) != "sent"  # a late claim finds nothing
        task.refresh_from_db()
        assert task.state == State.FAILED and not task.upstream_task_id
    first.refresh_from_db()
    assert first.state == State.DONE
    page = connected.get(reverse("sweep_detail", args=[group.pk])).content.decode()
    assert "3 of 3 done, 2 failed" in page and "Cancelled before it was sent." in page and "cancelled" in page


@live
def test_the_grid_downloads_as_one_png_with_labels_and_as_a_zip(connected, owner):
    connected.post(reverse("generate"), sweep_post(x=("scale", "5, 7, 9"), y=("prompt_sr", "lighthouse, windmill")))
    group = TaskGroup.objects.get(owner=owner)
    assert group.tasks.get(cell=[0, 1, 0]).params["prompt"] == "a windmill at dusk"

    png = connected.get(reverse("sweep_png", args=[group.pk]))
    assert png.status_code == 200 and png["Content-Type"] == "image/png"
    with Image.open(io.BytesIO(png.content)) as picture:
        assert picture.format == "PNG"
        assert picture.size == sweep_services.grid_size(3, 2, 1)
        assert picture.size == (
            sweep_services.LABEL_WIDTH + 3 * (sweep_services.CELL + sweep_services.PAD) + sweep_services.PAD,
            sweep_services.TITLE_HEIGHT
            + sweep_services.LABEL_HEIGHT
            + 2 * (sweep_services.CELL + sweep_services.PAD)
            + sweep_services.PAD,
        )
        cell = picture.convert("RGB").getpixel(
            (
                sweep_services.LABEL_WIDTH + sweep_services.PAD + sweep_services.CELL // 2,
                sweep_services.TITLE_HEIGHT + sweep_services.LABEL_HEIGHT + sweep_services.CELL // 2,
            )
        )
        assert cell != (255, 255, 255) and cell != (238, 238, 238)  # a picture, not an empty cell

    archive = connected.get(reverse("sweep_zip", args=[group.pk]))
    assert archive.status_code == 200 and archive["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(b"".join(archive.streaming_content))) as zipped:
        names = zipped.namelist()
    assert len([n for n in names if n.endswith(".json")]) == 6


@live
def test_bad_sweep_values_come_back_beside_the_axis_and_nothing_is_lost(connected, owner):
    response = connected.post(reverse("generate"), sweep_post(x=("scale", "5, 50"), y=("prompt_sr", "wolf, cat")))
    page = response.content.decode()
    assert response.status_code == 400
    assert "50 is outside 1–20" in page and "The prompt does not contain “wolf”." in page
    assert 'value="5, 50"' in page and 'value="wolf, cat"' in page and "a lighthouse at dusk" in page
    assert not GenerationTask.objects.exists()


@live
def test_a_sweep_over_the_quota_is_refused_beside_images_and_nothing_is_lost(connected, owner):
    Membership.objects.update_or_create(user=owner, defaults={"images_per_day": 3})
    response = connected.post(reverse("generate"), sweep_post(x=("scale", "5, 7, 9, 11")))
    page = response.content.decode()
    assert response.status_code == 400
    assert "Your daily quota is 3 images" in page and 'value="5, 7, 9, 11"' in page
    assert not GenerationTask.objects.exists()


@live
def test_the_estimate_counts_tasks_and_images_without_quotas(connected, owner):
    data = sweep_post(x=("scale", "5, 7, 9"), y=("steps", "10-30 (+10)"))
    data["n_images"] = "2"
    page = connected.post(reverse("sweep_estimate"), data).content.decode()
    assert "9 tasks · 18 images" in page and "left today" not in page
    assert not GenerationTask.objects.exists() and not TaskGroup.objects.exists()
    typing = {**data, "prompt": ""}  # a Generate form not complete yet: the cells are still counted
    assert "9 tasks · 18 images" in connected.post(reverse("sweep_estimate"), typing).content.decode()
    wrong = connected.post(reverse("sweep_estimate"), {**data, "sweep-x_values": "5, x"}).content.decode()
    assert "“x” is not a number" in wrong and "tasks ·" not in wrong


@live
def test_the_estimate_says_what_it_takes_from_the_quota_or_refuses(connected, owner):
    Membership.objects.update_or_create(user=owner, defaults={"images_per_day": 120})
    data = sweep_post(x=("scale", "1-9"), y=("steps", "10-30 (+10)"))
    data["n_images"] = "2"
    page = connected.post(reverse("sweep_estimate"), data).content.decode()
    assert "27 tasks · 54 images" in page and "takes 54 of the 120 images left today" in page
    Membership.objects.filter(user=owner).update(images_per_day=50)
    page = connected.post(reverse("sweep_estimate"), data).content.decode()
    assert "alert-warning" in page and "Your daily quota is 50 images" in page


@live
def test_the_panel_is_in_the_form_with_its_estimate(connected):
    page = connected.get(reverse("generate")).content.decode()
    assert "X/Y/Z sweep" in page and 'name="sweep-x_kind"' in page
    assert reverse("sweep_estimate") in page and 'hx-include="#generate-form"' in page


@live
def test_nobody_but_the_owner_sees_a_sweep(connected, owner, client, teammate, admin_user):
    group = generation_services.generation_submit_group(
        user=owner,
        plan=sweeps.expand(sweep_form(x=("scale", "5, 7")), form=None, tasks=batch_of()),
        idempotency_key=uuid.uuid4(),
    )
    urls = [reverse(name, args=[group.pk]) for name in ("sweep_detail", "sweep_grid", "sweep_png", "sweep_zip")]
    for user in (teammate, admin_user):
        client.force_login(user)
        for url in urls:
            assert client.get(url).status_code == 404, url
        assert client.post(reverse("sweep_cancel", args=[group.pk])).status_code == 404
    group.refresh_from_db()
    assert group.cancelled_at is None
    client.logout()
    assert client.get(urls[0]).status_code == 302  # the sign-in page
    client.force_login(owner)
    batch = TaskGroup.objects.create(owner=owner, kind="batch")
    assert client.get(reverse("sweep_detail", args=[batch.pk])).status_code == 404  # a batch is no sweep
    assert client.get(reverse("sweep_detail", args=[group.pk])).status_code == 200


@live
def test_reusing_a_sweeps_settings_brings_its_axes_back(connected, owner, engine_held):
    connected.post(reverse("generate"), sweep_post(x=("scale", "5, 9"), y=("prompt_sr", "lighthouse, windmill")))
    group = TaskGroup.objects.get(owner=owner)
    first = group.tasks.get(group_index=0)
    page = connected.get(reverse("sweep_detail", args=[group.pk])).content.decode()
    assert f"?task={first.pk}" in page
    form = connected.get(reverse("generate") + f"?task={first.pk}").content.decode()
    assert 'value="5, 9"' in form and 'value="lighthouse, windmill"' in form
    assert '<option value="prompt_sr" selected>' in form and "a lighthouse at dusk" in form
