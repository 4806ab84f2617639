"""The ZIP of selected tasks (each image beside a JSON sidecar of its parameters) and the history export as
JSON or CSV: names, contents, filters, and that nothing another member keeps private leaves in a file."""

import csv
import io
import json
import re
import uuid
import zipfile
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from generation import services
from generation.models import GenerationTask
from library import exports, parameters
from miaohua_site.accounts.services import upstream_account_store
from tests.library.library_helpers import is_login_page, make_task, set_sharing

pytestmark = pytest.mark.django_db


def unzip(response) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def body(response) -> str:
    return b"".join(response.streaming_content).decode("utf-8-sig")


# --- ZIP ----------------------------------------------------------------------------------------------------


def test_it_zips_each_image_with_a_json_sidecar(client, owner):
    task = make_task(owner, prompt="a red kite", n_images=2, select_seed=4242)
    client.force_login(owner)

    response = client.post(reverse("history_zip"), {"task": task.pk})

    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert re.match(r'attachment; filename="miaohua-images-\d{8}-\d{4}\.zip"', response["Content-Disposition"])
    archive = unzip(response)
    assert sorted(archive.namelist()) == [
        f"{task.pk}-0.json",
        f"{task.pk}-0.png",
        f"{task.pk}-1.json",
        f"{task.pk}-1.png",
    ]
    for image in task.images.all():  # the original with its parameters inside (library.parameters), nothing else
        with image.file.open("rb") as original:
            marked = parameters.with_parameters(original.read(), parameters.a1111_text(task, image))
            assert archive.read(f"{task.pk}-{image.save_index}.png") == marked
    sidecar = json.loads(archive.read(f"{task.pk}-1.json"))
    assert sidecar["task_id"] == task.pk and sidecar["save_index"] == 1
    assert sidecar["seed"] == 4242 and sidecar["model"] == "Artist v0.3.5"
    assert sidecar["params"] == task.params_sent and sidecar["params"]["prompt"] == "a red kite"
    assert sidecar["created_at"] == timezone.localtime(task.created_at).isoformat()


def test_it_zips_visible_tasks_only(client, owner, teammate, outsider):
    mine = make_task(owner)
    shared = make_task(teammate)
    hidden = make_task(outsider)
    trashed = make_task(owner, deleted_at=timezone.now())
    set_sharing(outsider, False)
    client.force_login(owner)

    response = client.post(reverse("history_zip"), {"task": [mine.pk, shared.pk, hidden.pk, trashed.pk]})

    tasks_in_zip = {int(name.split("-")[0]) for name in unzip(response).namelist()}
    assert tasks_in_zip == {mine.pk, shared.pk}


def test_a_teammate_who_stops_sharing_leaves_the_zip(client, owner, teammate, admin_user):
    theirs = make_task(teammate)
    client.force_login(owner)
    assert client.post(reverse("history_zip"), {"task": theirs.pk}).status_code == 200

    set_sharing(teammate, False)

    assert client.post(reverse("history_zip"), {"task": theirs.pk}).status_code == 404
    client.force_login(admin_user)  # admins see everything
    assert client.post(reverse("history_zip"), {"task": theirs.pk}).status_code == 200


def test_an_image_not_stored_yet_is_left_out(client, owner):
    task = make_task(owner, n_images=2)
    task.images.filter(save_index=1).update(file="")
    client.force_login(owner)
    names = unzip(client.post(reverse("history_zip"), {"task": task.pk})).namelist()
    assert sorted(names) == [f"{task.pk}-0.json", f"{task.pk}-0.png"]


def test_a_zip_needs_a_selection_and_has_a_limit(client, owner, monkeypatch):
    client.force_login(owner)
    empty = client.post(reverse("history_zip"), {"next": "/history/?q=kite"})
    assert empty.status_code == 302 and empty["Location"] == "/history/?q=kite"
    monkeypatch.setattr(exports, "ZIP_MAX_TASKS", 2)
    tasks = [make_task(owner, n_images=1) for _ in range(3)]
    too_many = client.post(reverse("history_zip"), {"task": [t.pk for t in tasks]}, follow=True)
    assert "A ZIP holds at most 2 tasks; 3 were selected." in too_many.content.decode()
    assert client.post(reverse("history_zip"), {"task": "999999"}).status_code == 404
    assert client.get(reverse("history_zip")).status_code == 405


def test_visitors_get_the_login_page(client, owner):
    task = make_task(owner)
    assert is_login_page(client.post(reverse("history_zip"), {"task": task.pk}))
    assert is_login_page(client.get(reverse("history_export"), {"format": "csv"}))


@pytest.mark.django_db(transaction=True)
def test_it_zips_a_task_generated_through_the_simulator(client, owner, simulator_url, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.GENERATION_POLL_INTERVAL_SECONDS = 0.1
    upstream_account_store(user=owner, email="demo@example.com", password="demo")
    params = {
        "prompt": "a glass whale",
        "versionid": "sgl_artist_v0.3.5_0925",
        "n_images": 2,
        "scale": 7,  # required by the document
        "select_seed": 77,
        "output_size": "640x640",
    }
    task = services.generation_submit(user=owner, params=params, idempotency_key=uuid.uuid4())
    task.refresh_from_db()
    assert task.state == GenerationTask.State.DONE, task.error_message
    client.force_login(owner)

    archive = unzip(client.post(reverse("history_zip"), {"task": task.pk}))

    images = [name for name in archive.namelist() if not name.endswith(".json")]
    assert len(images) == 2 and all(re.fullmatch(rf"{task.pk}-[01]\.\w+", name) for name in images)
    sidecar = json.loads(archive.read(f"{task.pk}-0.json"))
    assert sidecar["params"]["prompt"] == "a glass whale" and sidecar["seed"] == task.images.get(save_index=0).seed
    assert "token" not in sidecar["params"]


# --- Export -------------------------------------------------------------------------------------------------


@pytest.fixture
def history(owner, teammate):
    now = timezone.now()
    old = make_task(owner, prompt="a lighthouse at dusk", created_at=now - timedelta(days=3), select_seed=11)
    failed = make_task(
        owner,
        prompt="=HYPERLINK(a stormy sea)",
        n_images=0,
        state=GenerationTask.State.FAILED,
        error_message="Refused.",
        created_at=now - timedelta(days=1),
    )
    new = make_task(
        owner,
        prompt="a lighthouse in fog",
        versionid="sdxl_base_v1.0",
        model_name="SDXL 1.0",
        lora_versionid="lora_ink_sketch_v1",
        cn_types="canny,tile",
        created_at=now,
    )
    make_task(teammate, prompt="a lighthouse by a teammate")  # shared, yet not in MY export
    make_task(owner, prompt="a lighthouse in the trash", deleted_at=now)
    return {"old": old, "failed": failed, "new": new}


def test_it_exports_my_own_tasks_as_json(client, owner, history):
    client.force_login(owner)

    response = client.get(reverse("history_export"), {"format": "json"})

    assert response.streaming and response["Content-Type"].startswith("application/json")
    assert re.match(r'attachment; filename="miaohua-history-\d{8}-\d{4}\.json"', response["Content-Disposition"])
    rows = json.loads(body(response))
    assert [row["id"] for row in rows] == [history["new"].pk, history["failed"].pk, history["old"].pk]
    newest = rows[0]
    assert newest["model"] == "SDXL 1.0" and newest["versionid"] == "sdxl_base_v1.0"
    assert newest["lora"] == "lora_ink_sketch_v1" and newest["controlnets"] == "canny,tile"
    assert newest["image_count"] == 2 and newest["params"]["prompt"] == "a lighthouse in fog"
    assert rows[1]["state"] == "failed" and rows[1]["error"] == "Refused." and rows[1]["image_count"] == 0
    assert rows[2]["seed"] == 11


def test_it_exports_csv_one_row_per_task(client, owner, history):
    client.force_login(owner)

    response = client.get(reverse("history_export"), {"format": "csv"})

    assert response.streaming and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(body(response))))
    assert list(rows[0].keys()) == exports.EXPORT_COLUMNS
    assert [int(row["id"]) for row in rows] == [history["new"].pk, history["failed"].pk, history["old"].pk]
    assert rows[0]["image_count"] == "2" and rows[0]["output_size"] == "640x640"
    assert rows[1]["prompt"] == "'=HYPERLINK(a stormy sea)"  # a formula is quoted, never run by a spreadsheet


def test_the_export_applies_the_history_filters(client, owner, history):
    client.force_login(owner)

    def ids(**query):
        return [
            row["id"] for row in json.loads(body(client.get(reverse("history_export"), {"format": "json", **query})))
        ]

    assert ids(q="fog") == [history["new"].pk]
    assert ids(q="lighthouse") == [history["new"].pk, history["old"].pk]
    assert ids(state="failed") == [history["failed"].pk]
    assert ids(model="sdxl_base_v1.0") == [history["new"].pk]
    assert ids(cn="tile") == [history["new"].pk]
    today = timezone.localdate()
    assert ids(**{"from": str(today - timedelta(days=2))}) == [history["new"].pk, history["failed"].pk]
    rows = list(
        csv.DictReader(io.StringIO(body(client.get(reverse("history_export"), {"format": "csv", "q": "dusk"}))))
    )
    assert [int(row["id"]) for row in rows] == [history["old"].pk]


def test_nobody_exports_someone_elses_history(client, owner, teammate, admin_user, history):
    for someone in (teammate, admin_user):
        client.force_login(someone)
        rows = json.loads(body(client.get(reverse("history_export"), {"format": "json"})))
        assert all(row["id"] not in {t.pk for t in history.values()} for row in rows)
        assert "a lighthouse at dusk" not in body(client.get(reverse("history_export"), {"format": "csv"}))
        member = client.get(reverse("history_export"), {"format": "json", "member": owner.pk})
        assert json.loads(body(member)) == []


def test_an_unknown_format_is_a_bad_request(client, owner):
    client.force_login(owner)
    response = client.get(reverse("history_export"), {"format": "xlsx"})
    assert response.status_code == 400 and "format=json or format=csv" in response.content.decode()


def test_an_empty_history_exports_an_empty_list_and_a_header(client, owner):
    client.force_login(owner)
    assert json.loads(body(client.get(reverse("history_export"), {"format": "json"}))) == []
    assert body(client.get(reverse("history_export"), {"format": "csv"})).strip() == ",".join(exports.EXPORT_COLUMNS)
