"""The Generate page and the task and image pages, through Django's test client, with the simulator over HTTP."""

import io
import re
import time
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from generation import services
from generation.models import GeneratedImage, GenerationTask, InputImage
from library.models import MemberSettings
from miaohua_site.accounts.services import upstream_account_store

State = GenerationTask.State
live = pytest.mark.django_db(transaction=True)


def png(size=(320, 320), colour="teal", name="in.png"):
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def form_data(**overrides):
    data = {
        "idempotency_key": str(uuid.uuid4()),
        "versionid": "sgl_artist_v0.3.5_0925",
        "prompt": "a lighthouse at dusk",
        "neg_prompt": "",
        "n_images": "2",
        "scale": "7",
        "ddim_steps": "20",
        "select_seed": "1234",
        "output_size": "640x640",
        "mode": "txt2img",
        "strength": "0.6",
        "lora_weight": "0.8",
        "sensitive_limit_value": "0",
    }
    data.update(overrides)
    return data


@pytest.fixture
def connected(client, owner, simulator_url, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.GENERATION_POLL_INTERVAL_SECONDS = 0.1
    upstream_account_store(user=owner, email="demo@example.com", password="demo")
    client.force_login(owner)
    return client


def a_lora(client) -> str:
    page = client.get(reverse("generate")).content.decode()
    return re.search(r'<optgroup label="Public LoRAs">\s*<option value="([^"]+)"', page).group(1)


@live
def test_it_generates_images_from_the_form(connected, owner):
    response = connected.post(reverse("generate"), form_data())

    task = GenerationTask.objects.get(owner=owner)
    assert response.status_code == 302
    assert response["Location"] == f"/generate/?task={task.pk}&fresh_seed=1#task-{task.pk}"
    assert task.params["prompt"] == "a lighthouse at dusk" and task.params["select_seed"] == 1234
    assert task.model_name == "Artist v0.3.5"
    task.refresh_from_db()
    assert task.state == State.DONE  # django-q2 runs inline in tests: submit, poll and mirror have run
    assert task.images.count() == 2
    page = connected.get(response["Location"]).content.decode()
    assert f'id="task-{task.pk}"' in page and "Done" in page


@live
def test_a_512_size_is_generated_with_a_warning_beside_the_size(connected, owner):
    response = connected.post(reverse("generate"), form_data(output_size="512x512"))

    task = GenerationTask.objects.get(owner=owner)
    assert response.status_code == 302 and task.params["output_size"] == "512x512"
    task.refresh_from_db()
    assert task.state == State.DONE, task.error_message  # the simulator takes sides from 512, as Miaohua does
    page = connected.get(response["Location"]).content.decode()
    warning = re.search(r'<div [^>]*id="size-warning"[^>]*>', page).group(0)
    assert "hidden" not in warning and "outside Miaohua&#x27;s documented range" in page
    plain = connected.get(reverse("generate")).content.decode()  # 960x960 by default: the warning is hidden
    assert "hidden" in re.search(r'<div [^>]*id="size-warning"[^>]*>', plain).group(0)


@live
def test_the_seed_goes_back_to_random_unless_kept(connected, owner):
    fresh = connected.get(connected.post(reverse("generate"), form_data(select_seed="77"))["Location"])
    assert fresh.context["form"].initial["select_seed"] == -1
    kept = connected.get(connected.post(reverse("generate"), form_data(select_seed="77", keep_seed="on"))["Location"])
    assert kept.context["form"].initial["select_seed"] == 77
    assert kept.context["form"].initial["keep_seed"] is True


@live
def test_a_resent_form_makes_one_task(connected, owner):
    data = form_data()
    connected.post(reverse("generate"), data)
    connected.post(reverse("generate"), data)
    assert GenerationTask.objects.filter(owner=owner).count() == 1


@live
def test_it_sends_controlnet_and_lora_as_the_vendor_names_them(connected, owner):
    lora = a_lora(connected)
    data = form_data(
        lora_versionid=lora,
        lora_weight="1.5",
        **{
            "cn-1-cn": "canny",
            "cn-1-control_processor": "canny",
            "cn-1-low_threshold": "50",
            "cn-1-high_threshold": "150",
            "cn-1-weight": "0.7",
            "cn-1-guidance_start": "0.1",
            "cn-1-guidance_end": "0.9",
        },
    )
    data["cn-1-image"] = png()
    response = connected.post(reverse("generate"), data)
    assert response.status_code == 302, response.context["units"][0].errors

    task = GenerationTask.objects.get(owner=owner)
    unit = task.params["cn_configs"][0]
    assert unit["cn"] == "canny" and unit["weight"] == 0.7 and unit["guidance_start"] == 0.1
    assert unit["config"] == {"control_processor": "canny", "low_threshold": 50, "high_threshold": 150}
    assert unit["img"].startswith("input:")
    assert task.params["lora_configs"] == [{"versionid": lora, "merge_weight": 1.5}]
    task.refresh_from_db()
    assert task.state == State.DONE, task.error_message
    assert task.params_sent["cn_configs"][0]["img"].startswith("http")  # uploaded by the worker


@live
def test_errors_appear_beside_their_fields_and_nothing_typed_is_lost(connected, owner):
    data = form_data(prompt="keep me", scale="25", mode="img2img", output_size="")
    data["init_image"] = png(name="mine.png")
    response = connected.post(reverse("generate"), data)

    assert response.status_code == 400
    content = response.content.decode()
    assert "Ensure this value is less than or equal to 20." in content
    assert "keep me" in content and 'value="25"' in content
    kept = InputImage.objects.get(owner=owner)  # the upload was stored: no need to upload it again
    assert f'name="init_image_input" value="{kept.pk}"' in content
    assert not GenerationTask.objects.exists()


@live
def test_a_vendor_refusal_fails_the_task_with_its_message(connected, owner):
    connected.post(reverse("generate"), form_data(prompt="a simsensitive thing"))
    task = GenerationTask.objects.get(owner=owner)
    assert task.state == State.FAILED
    assert task.error_message
    card = connected.get(reverse("task_card", args=[task.pk]))
    assert card.status_code == 286
    assert task.error_message in card.content.decode() and "Try again" in card.content.decode()


@live
def test_try_again_makes_a_new_task_with_the_same_parameters(connected, owner):
    connected.post(reverse("generate"), form_data(prompt="simfail please"))
    failed = GenerationTask.objects.get(owner=owner)
    response = connected.post(reverse("task_retry", args=[failed.pk]))
    again = GenerationTask.objects.exclude(pk=failed.pk).get()
    assert response["Location"].startswith(f"/generate/?task={again.pk}")
    assert again.params == failed.params


@live
def test_reuse_settings_prefills_the_form_with_controlnet_and_lora(connected, owner):
    lora = a_lora(connected)
    data = form_data(
        lora_versionid=lora,
        output_size="custom",
        width="800",
        height="1200",
        **{
            "cn-0-cn": "tile",
            "cn-0-control_processor": "tile_resample",
            "cn-0-down_sample_rate": "2.5",
            "cn-0-weight": "1.2",
            "cn-0-guidance_start": "0",
            "cn-0-guidance_end": "1",
        },
    )
    data["cn-0-image"] = png()
    connected.post(reverse("generate"), data)
    task = GenerationTask.objects.get(owner=owner)

    response = connected.get(reverse("generate") + f"?task={task.pk}&same_seed=1")
    form, units = response.context["form"], response.context["units"]
    assert form.initial["prompt"] == "a lighthouse at dusk"
    assert form.initial["lora_versionid"] == lora
    assert (form.initial["output_size"], form.initial["width"], form.initial["height"]) == ("custom", "800", "1200")
    assert form.initial["select_seed"] == task.select_seed == 1234
    assert units[0].initial["cn"] == "tile" and units[0].initial["down_sample_rate"] == 2.5
    assert units[0].initial["image_input"] == InputImage.objects.get(owner=owner).pk
    assert form.initial["idempotency_key"] != task.idempotency_key  # a new task, not the old one


@live
def test_use_as_init_image_and_as_controlnet_image(connected, owner):
    connected.post(reverse("generate"), form_data())
    image = GeneratedImage.objects.first()
    response = connected.get(reverse("generate") + f"?init_from={image.pk}")
    assert response.context["form"].initial["mode"] == "img2img"
    assert response.context["form"].init_preview == image
    response = connected.get(reverse("generate") + f"?cn_from={image.pk}")
    assert response.context["units"][0].image_preview == image

    data = form_data(mode="img2img", output_size="", init_image_from=str(image.pk), strength="0.4")
    assert connected.post(reverse("generate"), data).status_code == 302
    task = GenerationTask.objects.order_by("-pk").first()
    task.refresh_from_db()
    assert task.kind == "img2img" and task.state == State.DONE, task.error_message
    assert task.images.first().width == image.width  # the init image's size


@live
def test_a_controlnet_unit_is_added_at_the_next_free_place(connected):
    response = connected.get(reverse("controlnet_unit"), {"present": ["0", "2"], "versionid": "sgl_artist_v0.3.5_0925"})
    assert 'data-cn-unit="cn-1"' in response.content.decode()
    assert 'name="cn-1-cn"' in response.content.decode()
    full = connected.get(reverse("controlnet_unit"), {"present": ["0", "1", "2"]})
    assert "At most 3 ControlNets" in full.content.decode()


@live
def test_an_open_source_model_gets_the_open_source_controlnets(connected):
    page = connected.get(reverse("generate"))
    cats = page.context["cats"]
    open_model = next(m for m in cats.base_models if m.is_opensource)
    html = connected.get(reverse("controlnet_unit"), {"versionid": open_model.versionid}).content.decode()
    select = re.search(r'<select name="cn-0-cn".*?</select>', html, re.S).group(0)
    assert re.findall(r'<option value="([^"]+)"', select) == [c.name for c in cats.cn_opensource]


@live
def test_the_card_polls_while_the_task_moves_and_stops_when_final(connected, owner):
    task = services.generation_submit(user=owner, params={"prompt": "x"}, idempotency_key=uuid.uuid4())
    GenerationTask.objects.filter(pk=task.pk).update(state=State.PENDING, wait_time=12)
    moving = connected.get(reverse("task_card", args=[task.pk]))
    assert moving.status_code == 200
    assert 'hx-trigger="every 2s' in moving.content.decode() and "about 12 s at Miaohua" in moving.content.decode()

    GenerationTask.objects.filter(pk=task.pk).update(state=State.FAILED, error_message="Refused.")
    final = connected.get(reverse("task_card", args=[task.pk]))
    assert final.status_code == 286 and "hx-trigger" not in final.content.decode()


@pytest.mark.django_db
def test_a_queued_card_says_why_it_waits_to_be_sent_again(client, owner):
    task = GenerationTask.objects.create(
        owner=owner, prompt="x", retry_reason="Miaohua was too busy to take it, so nothing was sent."
    )
    client.force_login(owner)
    card = client.get(reverse("task_card", args=[task.pk]))
    assert card.status_code == 200 and 'role="status">Miaohua was too busy' in card.content.decode()


@live
def test_the_queue_badge_counts_my_running_tasks(connected, owner):
    task = services.generation_submit(user=owner, params={"prompt": "x"}, idempotency_key=uuid.uuid4())
    GenerationTask.objects.filter(pk=task.pk).update(state=State.PENDING)
    badge = connected.get(reverse("queue_badge")).content.decode()
    assert "My queue: 1 running" in badge and "every 3s" in badge


@live
def test_another_users_unshared_task_and_images_are_not_found(connected, owner, client, outsider):
    MemberSettings.objects.create(user=owner, share_with_team=False)
    connected.post(reverse("generate"), form_data())
    task = GenerationTask.objects.get(owner=owner)
    image = task.images.first()
    client.force_login(outsider)
    for url in [
        reverse("task_card", args=[task.pk]),
        reverse("task_detail", args=[task.pk]),
        reverse("image_detail", args=[image.pk]),
        reverse("image_download", args=[image.pk]),
        reverse("image_file", args=[image.pk, "thumb"]),
    ]:
        assert client.get(url).status_code == 404, url
    upstream_account_store(user=outsider, email="demo@example.com", password="demo")
    assert client.post(reverse("task_retry", args=[task.pk])).status_code == 404
    assert client.get(reverse("generate") + f"?task={task.pk}").status_code == 404
    # an image of someone else cannot be smuggled in as an init image
    data = form_data(mode="img2img", output_size="", init_image_from=str(image.pk))
    assert client.post(reverse("generate"), data).status_code == 400


@live
def test_the_viewer_offers_every_action_and_serves_our_copy(connected, owner):
    connected.post(reverse("generate"), form_data())
    first, second = GenerationTask.objects.get(owner=owner).images.order_by("save_index")
    page = connected.get(reverse("image_detail", args=[first.pk])).content.decode()
    for action in ["Download original", "Reuse settings", "with the same seed", "Use as init image",
                   "Use as ControlNet image", "Describe", "Copy as JSON", "Delete this task", "Add to favourites"]:
        assert action in page, action
    assert f'data-next="/images/{second.pk}/"' in page
    download = connected.get(reverse("image_download", args=[first.pk]))
    assert download.status_code == 200 and "attachment" in download["Content-Disposition"]
    thumb = connected.get(reverse("image_file", args=[first.pk, "thumb"]))
    with Image.open(io.BytesIO(b"".join(thumb.streaming_content))) as picture:
        assert picture.format == "WEBP" and max(picture.size) <= 400


@live
def test_describe_gives_a_caption_to_use_as_prompt(connected):
    response = connected.post(reverse("describe"), {"image": png(colour="red")})
    assert response.status_code == 200
    caption = response.context["caption"]
    assert caption
    assert "Use as prompt" in response.content.decode()


@live
def test_describe_with_a_slow_vendor_says_so_plainly_within_the_timeout(connected, settings):
    settings.MIAOHUA_INTERACTIVE_TIMEOUT = 1  # the interactive profile: at most this read timeout, no retries
    settings.MIAOHUA_SIMULATOR_FAULTS = "slow_seconds=4,endpoints=img2txt"

    started = time.monotonic()
    response = connected.post(reverse("describe"), {"image": png(colour="red")})
    took = time.monotonic() - started

    assert response.status_code == 200 and took < 3.5  # one try of 1 s (plus the upload), not 4 × 30 s
    assert "Miaohua took longer than 1 s to answer; try again." in response.content.decode()
    assert response.context["caption"] is None
    settings.MIAOHUA_SIMULATOR_FAULTS = ""


@live
def test_describe_explains_a_bad_file(connected):
    bogus = SimpleUploadedFile("x.png", b"nope", content_type="image/png")
    response = connected.post(reverse("describe"), {"image": bogus})
    assert "not a readable image" in response.content.decode()


@live
def test_describe_an_image_from_history(connected, owner):
    connected.post(reverse("generate"), form_data(prompt="a violet kite over dunes"))
    image = GeneratedImage.objects.first()
    page = connected.get(reverse("describe") + f"?from={image.pk}").content.decode()
    assert f'name="image_from" value="{image.pk}"' in page
    response = connected.post(reverse("describe"), {"image_from": str(image.pk)})
    assert response.context["caption"], response.context["error"]


@live
def test_a_teammate_sees_a_shared_task_but_cannot_retry_or_delete_it(connected, owner, client, teammate):
    connected.post(reverse("generate"), form_data())
    task = GenerationTask.objects.get(owner=owner)
    image = task.images.first()
    upstream_account_store(user=teammate, email="demo@example.com", password="demo")
    client.force_login(teammate)
    assert client.get(reverse("image_detail", args=[image.pk])).status_code == 200
    assert client.get(reverse("image_download", args=[image.pk])).status_code == 200
    assert client.post(reverse("task_retry", args=[task.pk])).status_code == 404
    client.post(reverse("tasks_delete"), {"task": [task.pk]})
    task.refresh_from_db()
    assert task.deleted_at is None
    # using a teammate's shared image as init image works: it becomes the teammate's own input
    data = form_data(mode="img2img", output_size="", init_image_from=str(image.pk))
    assert client.post(reverse("generate"), data).status_code == 302


@live
def test_the_generate_page_describes_an_image_in_place(connected):
    page = connected.get(reverse("generate")).content.decode()
    assert "Describe an image" in page and f'hx-post="{reverse("describe")}"' in page
    assert 'id="describe-panel"' in page and 'name="image_from"' in page

    response = connected.post(reverse("describe"), {"image": png(colour="red")}, HTTP_HX_REQUEST="true")

    content = response.content.decode()
    assert response.status_code == 200 and "<html" not in content  # the panel alone, swapped in place
    assert response.context["caption"] and "data-use-prompt" in content and "Use as prompt" in content
    bad = connected.post(
        reverse("describe"), {"image": SimpleUploadedFile("x.png", b"nope")}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "not a readable image" in bad and "<html" not in bad
