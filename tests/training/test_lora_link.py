"""Linking a finished job's LoRA by hand, on the job's card: an admin on the job's Miaohua account picks one of the
account's private models (as cached); a bad pick gets a message beside the field; nobody else may do it."""

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from miaohua_site.accounts.services import upstream_account_store
from miaohua_site.simulator.models import SimAccount, SimModel
from training.models import TrainingJob

JobState = TrainingJob.State
pytestmark = pytest.mark.django_db(transaction=True)

GAVE_UP = "Miaohua finished the training, but no model named 'Cats_LoRA' turned up … An admin can link it by hand."


@pytest.fixture
def at_miaohua(account):
    """A private model of the demo account at the vendor, named nothing like the training."""
    return SimModel.objects.create(
        kind=SimModel.Kind.PRIVATE, model_id=100001, versionid="lora_mine", model_name="Felines, round",
        tag="LORA", owner=SimAccount.objects.get(email="demo@example.com"),
    )  # fmt: skip


@pytest.fixture
def job(admin_user, account) -> TrainingJob:
    """A job Miaohua finished whose LoRA the search gave up on."""
    return TrainingJob.objects.create(
        owner=admin_user, upstream_account=account, account_email=account.email, name="Cats LoRA",
        base_model="SDXL 1.0", main_body="Animals", trigger_word="roundcat", state=JobState.DONE,
        vendor_state="done", progress=1.0, error_message=GAVE_UP,
    )  # fmt: skip


def field(job) -> str:
    return f"lora-{job.pk}-versionid"


def test_an_admin_picks_the_lora_from_the_accounts_private_models(admin, job, at_miaohua):
    page = admin.get(reverse("training_list")).content.decode()
    assert "Link the LoRA by hand" in page and escape(GAVE_UP) in page
    assert '<option value="lora_mine">Felines, round (lora_mine)</option>' in page

    response = admin.post(reverse("training_lora_link", args=[job.pk]), {field(job): "lora_mine"})

    assert response.status_code == 302 and response["Location"] == f"{reverse('training_list')}#job-{job.pk}"
    job.refresh_from_db()
    assert (job.state, job.lora_versionid, job.lora_model_name) == (JobState.DONE, "lora_mine", "Felines, round")
    assert job.error_message == ""
    assert job.events.last().message == "Linked by hand by admin: the LoRA 'Felines, round' is ready."
    card = admin.get(reverse("training_card", args=[job.pk])).content.decode()
    assert "Generate with this LoRA" in card and "Link the LoRA by hand" not in card


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "Pick the LoRA this training made."),
        ("lora_not_at_miaohua", "Pick one of this Miaohua account&#x27;s private models."),
    ],
)
def test_a_bad_pick_gets_a_message_beside_the_field(admin, job, at_miaohua, value, message):
    response = admin.post(reverse("training_lora_link", args=[job.pk]), {field(job): value})

    assert response.status_code == 400
    html = response.content.decode()
    assert f'<div class="invalid-feedback d-block" id="id_{field(job)}_error">{message}</div>' in html
    assert f'aria-describedby="id_{field(job)}_error"' in html
    job.refresh_from_db()
    assert job.lora_versionid == "" and job.error_message == GAVE_UP


def test_a_job_miaohua_has_not_finished_cannot_be_linked(admin, job, at_miaohua):
    TrainingJob.objects.filter(pk=job.pk).update(state=JobState.RUNNING, vendor_done_at=None)

    response = admin.post(reverse("training_lora_link", args=[job.pk]), {field(job): "lora_mine"})

    assert response.status_code == 400
    assert "Miaohua has not finished this training yet" in response.content.decode()
    assert TrainingJob.objects.get(pk=job.pk).state == JobState.RUNNING


def test_a_running_job_still_searching_can_be_linked_at_once(admin, job, at_miaohua):
    TrainingJob.objects.filter(pk=job.pk).update(state=JobState.RUNNING, vendor_done_at=timezone.now())

    assert admin.post(reverse("training_lora_link", args=[job.pk]), {field(job): "lora_mine"}).status_code == 302
    job.refresh_from_db()
    assert job.state == JobState.DONE and job.lora_versionid == "lora_mine" and job.finished_at is not None


def test_an_admin_of_another_miaohua_account_may_not_link_nor_sees_the_form(client, django_user_model, job, at_miaohua):
    other = django_user_model.objects.create_user("other-admin", password="x", is_staff=True)
    upstream_account_store(user=other, email="someone-else@example.com", password="pw")
    client.force_login(other)

    assert "Link the LoRA by hand" not in client.get(reverse("training_list")).content.decode()
    response = client.post(reverse("training_lora_link", args=[job.pk]), {field(job): "lora_mine"})
    assert response.status_code == 403
    assert TrainingJob.objects.get(pk=job.pk).lora_versionid == ""


def test_a_member_gets_403_and_an_unknown_job_404(client, admin, teammate, job, at_miaohua):
    assert admin.post(reverse("training_lora_link", args=[job.pk + 999]), {}).status_code == 404
    client.force_login(teammate)
    assert client.post(reverse("training_lora_link", args=[job.pk]), {field(job): "lora_mine"}).status_code == 403
    assert TrainingJob.objects.get(pk=job.pk).lora_versionid == ""
