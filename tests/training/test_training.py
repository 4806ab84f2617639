"""Training through the pages, with the simulator over HTTP (it trains in 2 s here): the form's rules, one
train_submit per form, progress to done, a failure and why, the LoRA linked and offered to the Generate page,
and the admins' notices."""

import re
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from miaohua_site.accounts.services import upstream_account_store
from miaohua_site.simulator import stats
from miaohua_site.simulator.models import SimModel
from tests.training.conftest import picture
from training import services
from training.models import Dataset, TrainingEvent, TrainingJob

JobState = TrainingJob.State
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def dataset(admin) -> Dataset:
    """A dataset at Miaohua with two images."""
    admin.post(reverse("dataset_create"), {"name": "Round cats", "description": ""})
    dataset = Dataset.objects.get(name="Round cats")
    admin.post(
        reverse("dataset_upload", args=[dataset.pk]),
        {"images": [picture("one.png"), picture("two.png", colour="gold")]},
        HTTP_ACCEPT="application/json",
    )
    dataset.refresh_from_db()
    assert dataset.vendor_dataset_id is not None
    return dataset


def form_data(dataset, **overrides) -> dict:
    data = {
        "idempotency_key": str(uuid.uuid4()),
        "name": "Round cats LoRA",
        "trigger_word": "roundcat",
        "base_model": "SDXL 1.0",
        "main_body": "Animals",
        "datasets": [dataset.pk],
        "description": "cats, drawn round",
    }
    data.update(overrides)
    return data


def test_the_form_offers_the_vendors_choices_and_ready_datasets(admin, dataset, account):
    Dataset.objects.create(name="Not sent yet", upstream_account=account, account_email=account.email)
    page = admin.get(reverse("training_list")).content.decode()
    for choice in ("自动选择", "Artist v0.3.5", "SDXL 1.0", "Style", "Human", "Architecture", "Plants", "Animals"):
        assert f'value="{choice}"' in page
    assert "Round cats (2 images)" in page and "Not sent yet" not in page


def test_it_trains_a_lora_and_offers_it_to_the_generate_page(admin, dataset):
    response = admin.post(reverse("training_create"), form_data(dataset))

    job = TrainingJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"{reverse('training_list')}#job-{job.pk}"
    # The engine runs inline in tests: submitted, then polled until the simulator finished (2 s).
    job.refresh_from_db()
    assert job.state == JobState.DONE, job.error_message
    assert job.progress == 1.0 and job.percent == 100
    lora = SimModel.objects.get(kind=SimModel.Kind.PRIVATE, model_name="Round_cats_LoRA")  # renamed by Miaohua
    assert job.vendor_model_name == "Round_cats_LoRA"  # as train_progress reported it
    assert (job.lora_versionid, job.lora_model_name) == (lora.versionid, "Round_cats_LoRA")
    assert job.vendor_dataset_ids == [dataset.vendor_dataset_id]
    assert stats.calls("train_submit") == 1
    assert stats.calls("train_progress") >= 2

    log = list(job.events.values_list("state", flat=True))
    assert log[:3] == [JobState.QUEUED, JobState.SUBMITTING, JobState.RUNNING] and log[-1] == JobState.DONE
    assert all(a.at <= b.at for a, b in zip(job.events.all(), list(job.events.all())[1:], strict=False))

    page = admin.get(reverse("training_list")).content.decode()
    link = f"/generate/?lora={lora.versionid}&amp;base=SDXL+1.0&amp;prompt=roundcat"
    assert "Generate with this LoRA" in page and link in page

    generate = admin.get(f"/generate/?lora={lora.versionid}&base=SDXL+1.0&prompt=roundcat").content.decode()
    assert re.search(rf'<option value="{lora.versionid}" selected>Round_cats_LoRA</option>', generate)
    assert re.search(r'value="sdxl_base_v1.0" checked', generate)  # trained on it
    assert re.search(r"<textarea[^>]*>\s*roundcat</textarea>", generate)


def test_progress_is_written_as_the_training_goes(admin, dataset, account, engine_held, settings):
    settings.MIAOHUA_SIMULATOR_TRAIN_SECONDS = 4
    admin.post(reverse("training_create"), form_data(dataset))
    job = TrainingJob.objects.get()
    assert job.state == JobState.QUEUED

    assert services.training_send(job_id=job.pk) == "running"
    report = engine_held(budget=1.6)

    job.refresh_from_db()
    assert report.stopped == "time budget spent" and report.runs["training-poll"] >= 2
    assert job.state == JobState.RUNNING and job.vendor_state == "running"
    assert 0 < job.progress < 1 and job.progress_started_at is not None
    assert job.remaining_seconds() is not None and 0 < job.remaining_seconds() < 4
    card = admin.get(reverse("training_card", args=[job.pk]), HTTP_HX_REQUEST="true")
    html = card.content.decode()
    assert card.status_code == 200 and 'hx-trigger="every 2s' in html
    assert f'aria-valuenow="{job.percent}"' in html and "left" in html and "Training at Miaohua." in html

    engine_held(budget=10)

    job.refresh_from_db()
    assert job.state == JobState.DONE and job.lora_versionid
    final = admin.get(reverse("training_card", args=[job.pk]), HTTP_HX_REQUEST="true")
    assert final.status_code == 286 and "hx-trigger" not in final.content.decode()
    assert 'aria-valuenow="100"' in final.content.decode()


def test_a_failed_training_says_why(admin, dataset):
    admin.post(reverse("training_create"), form_data(dataset, name="simfail cats"))

    job = TrainingJob.objects.get()
    assert job.state == JobState.FAILED
    assert job.error_message.startswith("Miaohua") and job.finished_at is not None
    assert not job.lora_versionid
    assert job.events.last().state == JobState.FAILED
    card = admin.get(reverse("training_card", args=[job.pk]), HTTP_HX_REQUEST="true")
    assert card.status_code == 286
    assert job.error_message in card.content.decode() and "Generate with this LoRA" not in card.content.decode()


def test_a_refusal_at_submit_fails_the_job_with_the_vendors_reason(admin_user, account, dataset):
    gone = Dataset.objects.create(
        name="gone", upstream_account=account, account_email=account.email, vendor_dataset_id=99999
    )
    job = services.training_submit(
        user=admin_user, account=account, name="Orphan", description="", base_model="SDXL 1.0",
        main_body="Style", trigger_word="orphan", datasets=[gone], idempotency_key=uuid.uuid4(),
    )  # fmt: skip

    job.refresh_from_db()
    assert job.state == JobState.FAILED and "no dataset 99999" in job.error_message
    assert job.submit_attempted_at is not None


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"name": "x"}, "name", "at least 2 characters"),
        ({"name": "Cats, round!"}, "name", "Use letters, digits, spaces"),
        ({"trigger_word": ""}, "trigger_word", "This field is required."),
        ({"trigger_word": "round, cat"}, "trigger_word", "cannot contain commas"),
        ({"base_model": "Made up"}, "base_model", "Select a valid choice."),
        ({"main_body": "Robots"}, "main_body", "Select a valid choice."),
        ({"datasets": []}, "datasets", "This field is required."),
        ({"description": "x" * 2001}, "description", "at most 2000 characters"),
    ],
)
def test_the_server_checks_every_rule_and_keeps_what_was_typed(admin, dataset, overrides, field, message):
    data = form_data(dataset, **overrides)
    response = admin.post(reverse("training_create"), data)

    assert response.status_code == 400
    form = response.context["form"]
    assert list(form.errors) == [field] and message in form.errors[field][0]
    html = response.content.decode()
    assert f'id="id_{field}_error"' in html  # beside its field
    for kept in ("name", "trigger_word", "description"):
        if data[kept] and kept != field:
            assert data[kept] in html
    assert not TrainingJob.objects.exists() and stats.calls("train_submit") == 0


def test_a_name_already_used_on_the_account_is_refused_before_sending(admin, dataset, admin_user, account):
    TrainingJob.objects.create(
        owner=admin_user, upstream_account=account, account_email=account.email, name="Round cats LoRA",
        base_model="SDXL 1.0", main_body="Animals", trigger_word="x", state=JobState.DONE,
    )  # fmt: skip
    response = admin.post(reverse("training_create"), form_data(dataset, name="round cats lora"))
    assert response.status_code == 400
    assert "already has this name" in response.context["form"].errors["name"][0]


def test_a_dataset_not_at_miaohua_cannot_be_chosen(admin, dataset, account):
    draft = Dataset.objects.create(name="Draft", upstream_account=account, account_email=account.email)
    response = admin.post(reverse("training_create"), form_data(dataset, datasets=[dataset.pk, draft.pk]))
    assert response.status_code == 400 and "Select a valid choice" in response.context["form"].errors["datasets"][0]


def test_a_resent_form_makes_one_job(admin, dataset):
    data = form_data(dataset)
    first = admin.post(reverse("training_create"), data)
    second = admin.post(reverse("training_create"), data)
    assert first["Location"] == second["Location"]
    assert TrainingJob.objects.count() == 1 and stats.calls("train_submit") == 1


def test_admins_are_told_when_a_job_finishes(admin, dataset, client, django_user_model):
    admin.post(reverse("training_create"), form_data(dataset))
    job = TrainingJob.objects.get()
    other = django_user_model.objects.create_user("admin2", password="x", is_staff=True)

    notices = admin.get(reverse("training_notices")).content.decode()
    assert f'data-notice="{job.pk}"' in notices and "Training finished: Round cats LoRA" in notices
    assert "is ready" in notices
    admin.post(reverse("training_notices_dismiss"), {"job": [job.pk]})
    assert f'data-notice="{job.pk}"' not in admin.get(reverse("training_notices")).content.decode()

    client.force_login(other)  # dismissed for one admin only
    assert f'data-notice="{job.pk}"' in client.get(reverse("training_notices")).content.decode()
    assert 'id="training-notices"' in client.get(reverse("dataset_list")).content.decode()


def test_a_failure_is_a_notice_too(admin, dataset):
    admin.post(reverse("training_create"), form_data(dataset, name="simfail again"))
    notices = admin.get(reverse("training_notices")).content.decode()
    assert "Training failed: simfail again" in notices and "notice-failed" in notices


def test_a_member_does_not_see_the_lora_button_for_another_account(admin, dataset, client, django_user_model):
    admin.post(reverse("training_create"), form_data(dataset))
    other = django_user_model.objects.create_user("admin3", password="x", is_staff=True)
    upstream_account_store(user=other, email="elsewhere@example.com", password="pw")
    client.force_login(other)
    page = client.get(reverse("training_list")).content.decode()
    assert "Round cats LoRA" in page and "Generate with this LoRA" not in page


def test_an_event_log_line_for_each_state_change(admin, dataset):
    admin.post(reverse("training_create"), form_data(dataset))
    messages = list(TrainingEvent.objects.values_list("message", flat=True))
    assert messages[0] == "Queued." and "Accepted by Miaohua." in messages
    assert any(m.startswith("Done: the LoRA") for m in messages)
    assert TrainingEvent.objects.filter(at__lte=timezone.now()).count() == len(messages)
