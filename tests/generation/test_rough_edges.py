"""Issue #9 §4, the small rough edges a new member hits: the trash's empty restore, one error for a bad upload,
readable task parameters, no "Details" link to the page itself, and ZIP sidecars without the vendor's links."""

import io
import json
import zipfile

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from generation.models import GenerationTask
from tests.generation.test_views import connected, form_data  # noqa: F401 (fixture)
from tests.library.library_helpers import make_task

pytestmark = pytest.mark.django_db


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_restore_with_nothing_selected_asks_to_select_tasks(client, owner):
    client.force_login(owner)
    response = client.post(reverse("tasks_restore"), {})
    assert response.status_code == 302
    assert _messages(response) == ["Select tasks to restore."]


def test_delete_with_nothing_selected_asks_to_select_tasks(client, owner):
    client.force_login(owner)
    response = client.post(reverse("tasks_delete"), {})
    assert _messages(response) == ["Select tasks to move to the trash."]


@pytest.mark.django_db(transaction=True)
def test_a_bad_image_to_image_upload_shows_one_error(connected):  # noqa: F811
    data = form_data(mode="img2img", output_size="")
    data["init_image"] = SimpleUploadedFile("x.png", b"not an image", content_type="image/png")
    response = connected.post(reverse("generate"), data)
    assert response.status_code == 400
    errors = response.context["form"].errors["init_image"]
    assert len(errors) == 1, errors
    assert not GenerationTask.objects.exists()


def test_the_task_page_shows_lora_settings_readably_and_no_details_link_to_itself(client, owner):
    task = make_task(owner)
    task.params = {**task.params, "lora_configs": [{"versionid": "lora_ink", "merge_weight": 0.8}]}
    task.save(update_fields=["params"])
    client.force_login(owner)

    page = client.get(reverse("task_detail", args=[task.pk])).content.decode()

    assert "{&#x27;versionid&#x27;" not in page and "{'versionid'" not in page
    assert "versionid: lora_ink, merge_weight: 0.8" in page
    assert 'href="' + reverse("task_detail", args=[task.pk]) + '"' not in page  # no "Details" link to this very page
    # … and the card's poll keeps it so.
    card = client.get(reverse("task_card", args=[task.pk]) + "?on=detail").content.decode()
    assert "Details" not in card
    assert "Details" in client.get(reverse("task_card", args=[task.pk])).content.decode()


def test_a_zip_sidecar_names_a_control_image_by_our_own_reference(client, owner):
    task = make_task(owner, n_images=1)
    task.params = {**task.params, "init_img": "input:7", "cn_configs": [{"cn": "canny", "img": "input:8"}]}
    signed = "https://miaohua.example.com/files/upload/abc.png?Expires=1700000000&Signature=secret"
    task.params_sent = {**task.params, "init_img": signed, "cn_configs": [{"cn": "canny", "img": signed}]}
    task.save(update_fields=["params", "params_sent"])
    client.force_login(owner)

    response = client.post(reverse("history_zip"), {"task": task.pk})
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    sidecar = json.loads(archive.read(f"{task.pk}-0.json"))

    assert "Signature" not in json.dumps(sidecar)
    assert sidecar["params"]["init_img"] == "input:7"
    assert sidecar["params"]["cn_configs"] == [{"cn": "canny", "img": "input:8"}]
    assert sidecar["params"]["prompt"] == task.prompt
