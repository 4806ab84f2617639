"""The training page never waits on the vendor: get_train_form and the account's private models come from the
cache, refreshed by the worker (played here with ``queued_jobs``). Cold, the page renders at once and the base
model and subject choices fill in by polling; a form sent meanwhile comes back as typed."""

import time
import uuid

import pytest
from django.test import Client
from django.urls import reverse

from generation import catalog
from miaohua_site.simulator import stats
from tests.training.conftest import picture
from training.models import Dataset, TrainingJob

pytestmark = pytest.mark.django_db(transaction=True)
SLOW = "slow_seconds=3,endpoints=get_train_form+models/private"


@pytest.fixture
def cold(account):
    catalog.forget(account, [("train_form",), ("private",)])
    return account


@pytest.fixture
def dataset(admin, cold) -> Dataset:
    admin.post(reverse("dataset_create"), {"name": "Round cats", "description": ""})
    dataset = Dataset.objects.get(name="Round cats")
    admin.post(
        reverse("dataset_upload", args=[dataset.pk]), {"images": [picture("one.png")]}, HTTP_ACCEPT="application/json"
    )
    return dataset


def choices(client, **params):
    return client.get(reverse("training_form_choices"), params)


def test_the_training_page_renders_at_once_and_its_choices_fill_in(admin, cold, queued_jobs, settings):
    settings.MIAOHUA_SIMULATOR_FAULTS = SLOW
    calls = stats.calls()

    started = time.monotonic()
    page = admin.get(reverse("training_list"))

    content = page.content.decode()
    assert page.status_code == 200 and time.monotonic() - started < 1.5 and stats.calls() == calls
    assert "Loading the training choices from Miaohua…" in content and 'name="trigger_word"' in content
    assert f'hx-get="{reverse("training_form_choices")}"' in content
    assert choices(admin).status_code == 200  # still on its way: the placeholder, polling

    settings.MIAOHUA_SIMULATOR_FAULTS = ""
    queued_jobs.run()
    ready = choices(admin)
    assert ready.status_code == 286 and 'value="SDXL 1.0"' in ready.content.decode()
    assert 'value="Animals"' in ready.content.decode() and stats.calls("get_train_form") == 1


def test_a_training_sent_while_the_choices_load_comes_back_as_typed(admin, dataset, queued_jobs):
    data = {
        "idempotency_key": str(uuid.uuid4()),
        "name": "Round cats LoRA",
        "trigger_word": "roundcat",
        "base_model": "SDXL 1.0",
        "main_body": "Animals",
        "datasets": [dataset.pk],
        "description": "kept",
    }
    response = admin.post(reverse("training_create"), data)

    content = response.content.decode()
    assert response.status_code == 400 and not TrainingJob.objects.exists()
    assert "training choices are still loading: everything you entered is kept" in content
    assert 'value="Round cats LoRA"' in content and 'value="roundcat"' in content
    assert '<input type="hidden" name="base_model" value="SDXL 1.0">' in content
    assert '<input type="hidden" name="main_body" value="Animals">' in content


def test_a_failed_training_form_says_why_with_a_retry(admin, cold, queued_jobs, settings):
    settings.MIAOHUA_SIMULATOR_FAULTS = "error_rate=1,error_status=500,endpoints=get_train_form"
    admin.get(reverse("training_list"))
    queued_jobs.run()

    failed = choices(admin)

    assert failed.status_code == 286
    assert "Miaohua did not send the training choices:" in failed.content.decode()
    assert f"{reverse('training_form_choices')}?retry=1" in failed.content.decode()


def test_the_choices_are_for_admins_and_take_any_input(admin, cold, member_client, queued_jobs):
    assert Client().get(reverse("training_form_choices")).status_code == 302  # to the login page
    assert member_client.get(reverse("training_form_choices")).status_code == 403
    for params in [{"base_model": "<b>x</b>" * 50}, {"main_body": "🐈" * 200}, {"retry": "1"}]:
        assert choices(admin, **params).status_code in (200, 286)


@pytest.fixture
def member_client(teammate):
    client = Client()
    client.force_login(teammate)
    return client
