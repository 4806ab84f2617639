"""Every action of the product that exists today writes its event: who, what it touched, and from where."""

from datetime import timedelta
from types import SimpleNamespace
from uuid import uuid4

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from generation.models import GenerationTask
from library import trash
from miaohua_site.accounts.models import UpstreamAccount
from miaohua_site.accounts.services import upstream_account_store
from miaohua_site.audit.models import AuditEvent
from tests.library.library_helpers import make_task, set_sharing
from tests.training.conftest import not_a_picture, picture
from training.models import Dataset, DatasetImage, TrainingJob
from training.services import datasets as dataset_services
from training.services import jobs as job_services

Action = AuditEvent.Action
IP = "198.51.100.23"
pytestmark = pytest.mark.django_db


def only(action) -> AuditEvent:
    events = list(AuditEvent.objects.filter(action=action))
    assert len(events) == 1, events
    return events[0]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def signed_in(client, owner):
    client.force_login(owner)
    return client


# --- Miaohua account ------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_connecting_then_replacing_the_miaohua_account_is_recorded(signed_in, owner, simulator_url):
    form = {"email": "demo@example.com", "password": "demo"}
    signed_in.post(reverse("upstream_settings"), form, REMOTE_ADDR=IP)
    signed_in.post(reverse("upstream_settings"), form, REMOTE_ADDR=IP)
    account = UpstreamAccount.objects.get(user=owner)
    for action in (Action.ACCOUNT_CONNECTED, Action.ACCOUNT_REPLACED):
        event = only(action)
        assert (event.actor, event.ip_address) == (owner, IP)
        assert (event.target_type, event.target_id) == ("accounts.upstreamaccount", str(account.pk))
        assert "demo@example.com" in event.target_repr
        assert "demo" not in str(event.details)  # never the password


def test_removing_the_miaohua_account_is_recorded(signed_in, owner):
    account = upstream_account_store(user=owner, email="me@example.com", password="secret-pw")
    signed_in.post(reverse("upstream_disconnect"), REMOTE_ADDR=IP)
    event = only(Action.ACCOUNT_REMOVED)
    assert (event.actor, event.ip_address, event.target_id) == (owner, IP, str(account.pk))
    assert not UpstreamAccount.objects.exists()


def test_removing_no_account_records_nothing(signed_in):
    signed_in.post(reverse("upstream_disconnect"))
    assert not AuditEvent.objects.filter(action=Action.ACCOUNT_REMOVED).exists()


# --- Sharing, trash, exports ----------------------------------------------------------------------------------


def test_changing_sharing_is_recorded_with_the_new_value(signed_in, owner):
    signed_in.post(reverse("sharing"), {"share": "1"}, REMOTE_ADDR=IP)
    event = only(Action.SHARING_CHANGED)
    assert (event.actor, event.ip_address, event.target_repr) == (owner, IP, "owner")
    assert event.details == {"share_with_team": True}


def test_deleting_and_restoring_tasks_is_recorded_with_their_ids(signed_in, owner, teammate):
    mine, theirs = make_task(owner, n_images=0), make_task(teammate, n_images=0)
    signed_in.post(reverse("tasks_delete"), {"task": [mine.pk, theirs.pk]}, REMOTE_ADDR=IP)
    signed_in.post(reverse("tasks_restore"), {"task": [mine.pk]}, REMOTE_ADDR=IP)
    for action in (Action.TASKS_DELETED, Action.TASKS_RESTORED):
        event = only(action)
        assert (event.actor, event.ip_address, event.target_repr) == (owner, IP, "1 task")
        assert event.details == {"task_ids": [mine.pk]}  # another member's id changed nothing and is not listed


def test_a_delete_that_changes_nothing_records_nothing(signed_in, teammate):
    signed_in.post(reverse("tasks_delete"), {"task": [make_task(teammate, n_images=0).pk]})
    assert not AuditEvent.objects.filter(action=Action.TASKS_DELETED).exists()


def test_a_delete_rolled_back_leaves_no_event_and_an_event_that_fails_keeps_the_tasks(owner, monkeypatch):
    task = make_task(owner, n_images=0)
    with pytest.raises(RuntimeError), transaction.atomic():
        trash.tasks_delete(user=owner, task_ids=[task.pk])
        raise RuntimeError("the request failed later on")
    assert not AuditEvent.objects.exists()

    def refuse(**fields):
        raise RuntimeError("the audit log cannot be written")

    monkeypatch.setattr(AuditEvent.objects, "create", refuse)
    with pytest.raises(RuntimeError):
        trash.tasks_delete(user=owner, task_ids=[task.pk])
    task.refresh_from_db()
    assert task.deleted_at is None  # no event, no action


def test_the_purge_records_each_task_it_removes_for_good(owner):
    old = make_task(owner, n_images=1, prompt="an old lighthouse")
    GenerationTask.objects.filter(pk=old.pk).update(deleted_at=timezone.now() - timedelta(days=31))
    make_task(owner, n_images=0)
    assert trash.trash_purge() == 1
    event = only(Action.TASK_PURGED)
    assert event.actor is None and event.ip_address is None
    assert (event.target_type, event.target_id) == ("generation.generationtask", str(old.pk))
    assert "an old lighthouse" in event.target_repr and event.details == {"owner": "owner"}


def test_a_zip_download_is_recorded_with_the_tasks_it_held(signed_in, owner, teammate):
    task = make_task(owner, n_images=1)
    set_sharing(teammate, False)
    response = signed_in.post(reverse("history_zip"), {"task": [task.pk, make_task(teammate).pk]}, REMOTE_ADDR=IP)
    assert response.status_code == 200
    event = only(Action.ZIP_DOWNLOADED)
    assert (event.actor, event.ip_address, event.details) == (owner, IP, {"task_ids": [task.pk]})


@pytest.mark.parametrize("kind", ["json", "csv"])
def test_an_export_is_recorded_with_its_filters(signed_in, owner, kind):
    response = signed_in.get(reverse("history_export"), {"format": kind, "q": "lighthouse"}, REMOTE_ADDR=IP)
    b"".join(response.streaming_content)
    event = only(Action.HISTORY_EXPORTED)
    assert (event.actor, event.ip_address, event.target_repr) == (owner, IP, f"History as {kind.upper()}")
    assert "q=lighthouse" in event.details["query"]


# --- Datasets and training ------------------------------------------------------------------------------------


@pytest.fixture
def admin(client, admin_user):
    upstream_account_store(user=admin_user, email="demo@example.com", password="demo")
    client.force_login(admin_user)
    return client


def test_creating_a_dataset_is_recorded(admin, admin_user):
    admin.post(reverse("dataset_create"), {"name": "Cats", "description": ""}, REMOTE_ADDR=IP)
    dataset = Dataset.objects.get()
    event = only(Action.DATASET_CREATED)
    assert (event.actor, event.ip_address, event.target_id, event.target_repr) == (
        admin_user,
        IP,
        str(dataset.pk),
        "Cats",
    )
    assert event.details == {"account": "demo@example.com"}


def test_adding_and_removing_dataset_images_is_recorded(admin, admin_user):
    dataset = dataset_services.dataset_create(
        user=admin_user, account=admin_user.upstream_account, name="Cats", description=""
    )
    url = reverse("dataset_upload", args=[dataset.pk])
    admin.post(url, {"images": [picture(), not_a_picture()], "more": "1"}, REMOTE_ADDR=IP)
    stored = DatasetImage.objects.get(state=DatasetImage.State.WAITING)
    added = only(Action.DATASET_IMAGES_ADDED)
    assert (added.actor, added.ip_address, added.target_id) == (admin_user, IP, str(dataset.pk))
    assert added.details == {"source": "upload", "image_ids": [stored.pk], "refused": 1}

    admin.post(reverse("dataset_images_remove", args=[dataset.pk]), {"image": [stored.pk]}, REMOTE_ADDR=IP)
    removed = only(Action.DATASET_IMAGES_REMOVED)
    assert (removed.actor, removed.ip_address, removed.target_id) == (admin_user, IP, str(dataset.pk))
    assert removed.details == {"image_ids": [stored.pk], "removed": 1, "removing": 0}


def test_starting_a_training_is_recorded(admin_user, engine_held):
    account = upstream_account_store(user=admin_user, email="demo@example.com", password="demo")
    dataset = Dataset.objects.create(name="Cats", created_by=admin_user, upstream_account=account,
                                     account_email=account.email, vendor_dataset_id=4242)  # fmt: skip
    job = job_services.training_submit(
        user=admin_user, account=account, name="Cats LoRA", description="", base_model="SDXL 1.0",
        main_body="Animals", trigger_word="roundcat", datasets=[dataset], idempotency_key=uuid4(),
    )  # fmt: skip
    event = only(Action.TRAINING_STARTED)
    assert (event.actor, event.target_type, event.target_id) == (admin_user, "training.trainingjob", str(job.pk))
    assert event.details == {"datasets": [4242]}


def test_linking_a_lora_by_hand_is_recorded(admin_user):
    account = upstream_account_store(user=admin_user, email="demo@example.com", password="demo")
    job = TrainingJob.objects.create(
        owner=admin_user, upstream_account=account, account_email=account.email, name="Cats LoRA",
        base_model="SDXL 1.0", main_body="Animals", trigger_word="roundcat", state=TrainingJob.State.DONE,
    )  # fmt: skip
    lora = SimpleNamespace(versionid="lora_mine", model_name="Felines, round")
    assert job_services.training_lora_link(job=job, user=admin_user, lora=lora)
    event = only(Action.LORA_LINKED)
    assert (event.actor, event.target_id) == (admin_user, str(job.pk))
    assert event.details == {"lora": "lora_mine", "lora_name": "Felines, round"}
