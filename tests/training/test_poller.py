"""The training poller and recovery: train_progress through the account's shared rate window (the generation
poller's), in the engine's poll lane; what a dead engine or worker left is picked up by the next one."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import Schedule

from miaohua_site.simulator import clock, stats
from miaohua_site.simulator.models import SimModel
from miaohua_site.workers.models import RateWindow
from tests.training.conftest import picture
from training import services
from training.models import Dataset, DatasetImage, TrainingJob
from training.services import poller, recovery
from training.services.datasets import SEND_JOB

JobState = TrainingJob.State
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def on_vendor(account, vendor) -> Dataset:
    urls = vendor.upload_imgs([("a.png", picture("a.png").read())])
    vendor_id = vendor.dataset_create("Cats", "", urls)
    return Dataset.objects.create(
        name="Cats", upstream_account=account, account_email=account.email, vendor_dataset_id=vendor_id
    )


def a_job(admin_user, account, dataset, name="Cats LoRA") -> TrainingJob:
    return services.training_submit(
        user=admin_user, account=account, name=name, description="", base_model="SDXL 1.0", main_body="Animals",
        trigger_word="cat", datasets=[dataset], idempotency_key=uuid.uuid4(),
    )  # fmt: skip


def test_the_poller_shares_the_accounts_rate_window_and_ends(admin_user, account, on_vendor, engine_held):
    job = a_job(admin_user, account, on_vendor)

    report = engine_held()

    job.refresh_from_db()
    assert job.state == JobState.DONE and report.stopped == "idle"
    assert report.runs["training-poll"] == stats.calls("train_progress") + 1  # and one look for the LoRA
    window = RateWindow.objects.get(name=f"account:{account.pk}")  # the generation poller's own window
    assert window.calls and window.version > 0


def test_a_renamed_lora_is_found_by_the_name_train_progress_reports(admin_user, account, on_vendor, engine_held):
    job = a_job(admin_user, account, on_vendor, name="train model1")  # the document's own example

    engine_held()

    job.refresh_from_db()
    assert job.state == JobState.DONE, job.error_message
    assert job.vendor_model_name == "train_model1"  # what train_progress answered
    lora = SimModel.objects.get(kind=SimModel.Kind.PRIVATE, model_name="train_model1")
    assert (job.lora_versionid, job.lora_model_name) == (lora.versionid, "train_model1")
    assert stats.calls("models/private") == 2  # found on the first look; then the Generate form's list refreshed


@pytest.fixture
def vendor_clock():
    yield clock
    clock.reset()


def finished_at_miaohua(admin_user, account, on_vendor, vendor, vendor_clock, name="Cats LoRA") -> TrainingJob:
    """A job Miaohua has trained (its LoRA exists at the vendor), not polled by us yet."""
    job = a_job(admin_user, account, on_vendor, name=name)
    assert services.training_send(job_id=job.pk) == "running"
    job.refresh_from_db()
    vendor_clock.advance(60)
    assert vendor.train_progress(job.upstream_task_id).state == "done"  # the simulator makes the LoRA now
    return job


def test_a_lora_is_matched_forgivingly(admin_user, account, on_vendor, vendor, vendor_clock, engine_held):
    job = finished_at_miaohua(admin_user, account, on_vendor, vendor, vendor_clock)
    SimModel.objects.filter(training__id=job.upstream_task_id).update(model_name="cats-lora ")  # another spelling

    engine_held()

    job.refresh_from_db()
    assert job.state == JobState.DONE and job.lora_model_name == "cats-lora "


@pytest.mark.parametrize(
    ("name", "other", "same"),
    [
        ("train model1", "train_model1", True),
        ("Cats  LoRA", "cats_lora", True),
        ("Cats LoRA", "cats-lora", True),
        ("ＣＡＴＳ lora", "cats_lora", True),  # full-width letters
        ("Cats LoRA", "Cats LoRA 2", False),
        ("Cats LoRA", "Dogs LoRA", False),
    ],
)
def test_names_are_compared_ignoring_case_spaces_and_underscores(name, other, same):
    assert (poller.name_key(name) == poller.name_key(other)) is same


def test_the_search_backs_off_and_stops_after_its_bound_saying_so(
    admin_user, account, on_vendor, vendor, vendor_clock, engine_held, settings
):
    settings.TRAINING_LORA_WAIT_SECONDS = 2
    settings.TRAINING_LORA_SEARCH_MAX_DELAY_SECONDS = 0.8
    job = finished_at_miaohua(admin_user, account, on_vendor, vendor, vendor_clock)
    SimModel.objects.filter(training__id=job.upstream_task_id).update(model_name="something else entirely")
    looks = stats.calls("models/private")

    report = engine_held(budget=15)

    job.refresh_from_db()
    assert report.stopped == "idle" and job.state == JobState.DONE and not job.lora_versionid
    assert job.error_message == (
        "Miaohua finished the training, but no model named 'Cats_LoRA' or 'Cats LoRA' turned up among the "
        "account's private models within 2 seconds. An admin can link the LoRA by hand below."
    )
    assert job.events.last().message == job.error_message
    # Looks after 0, 0.2, 0.6, 1.4 and 2.2 s (0.2 s doubling to 0.8 s); every 0.2 s would be about 11.
    assert 3 <= stats.calls("models/private") - looks <= 6


def test_a_search_round_that_fails_backs_off_too(
    admin_user, account, on_vendor, vendor, vendor_clock, engine_held, settings
):
    settings.TRAINING_LORA_WAIT_SECONDS = 2
    settings.TRAINING_LORA_SEARCH_MAX_DELAY_SECONDS = 0.8
    job = finished_at_miaohua(admin_user, account, on_vendor, vendor, vendor_clock)
    settings.MIAOHUA_SIMULATOR_FAULTS = "error_rate=1,error_status=500,endpoints=models/private"
    looks = stats.calls("models/private")

    engine_held(budget=15)

    job.refresh_from_db()
    assert job.state == JobState.DONE and "An admin can link the LoRA by hand" in job.error_message
    assert 3 <= stats.calls("models/private") - looks <= 6


def test_an_inline_engine_stops_after_its_budget(admin_user, account, on_vendor, engine_held, settings):
    settings.MIAOHUA_SIMULATOR_TRAIN_SECONDS = 60
    job = a_job(admin_user, account, on_vendor)

    report = engine_held(budget=0.8)

    assert report.stopped == "time budget spent"
    assert TrainingJob.objects.get(pk=job.pk).state == JobState.RUNNING


def test_a_training_past_the_timeout_fails(admin_user, account, on_vendor, engine_held, settings):
    settings.MIAOHUA_SIMULATOR_TRAIN_SECONDS = 60
    job = a_job(admin_user, account, on_vendor)
    services.training_send(job_id=job.pk)
    TrainingJob.objects.filter(pk=job.pk).update(submitted_at=timezone.now() - timedelta(days=2))

    engine_held()

    job.refresh_from_db()
    assert job.state == JobState.FAILED and "within 24 hours" in job.error_message


def test_the_estimate_comes_from_the_progress_rate():
    now = timezone.now()
    job = TrainingJob(
        state=JobState.RUNNING, progress=0.5, progress_first=0.1, created_at=now - timedelta(seconds=60),
        submitted_at=now - timedelta(seconds=60), progress_started_at=now - timedelta(seconds=40),
        last_polled_at=now,
    )  # fmt: skip
    assert job.remaining_seconds(now) == pytest.approx(50)  # 0.4 in 40 s: 0.5 left takes 50 s
    job.progress_first = 0.5  # one report only: from the submission
    assert job.remaining_seconds(now) == pytest.approx(60)
    job.state = JobState.DONE
    assert job.remaining_seconds(now) is None


def test_the_schedule_exists_once():
    services.ensure_schedules()
    services.ensure_schedules()
    schedule = Schedule.objects.get(name=recovery.RECOVER_SCHEDULE)
    assert schedule.func == recovery.RECOVER_JOB and schedule.minutes == 1 and schedule.repeats == -1


def test_the_next_engine_picks_up_the_jobs_a_dead_one_was_sending(admin_user, account, on_vendor, engine_held):
    long_ago = timezone.now() - timedelta(hours=1)
    attempted = a_job(admin_user, account, on_vendor, name="no answer")
    unsent = a_job(admin_user, account, on_vendor, name="died before sending")
    TrainingJob.objects.filter(pk=attempted.pk).update(
        state=JobState.SUBMITTING, claimed_at=long_ago, submit_attempted_at=long_ago
    )
    TrainingJob.objects.filter(pk=unsent.pk).update(state=JobState.SUBMITTING, claimed_at=long_ago)

    engine_held()

    assert TrainingJob.objects.get(pk=attempted.pk).state == JobState.FAILED  # never resent blindly
    assert TrainingJob.objects.get(pk=unsent.pk).state == JobState.DONE  # its first send, then polled
    assert stats.calls("train_submit") == 1


def test_the_schedule_picks_up_what_a_dead_worker_left_of_a_dataset(account, on_vendor, queued_jobs):
    long_ago = timezone.now() - timedelta(hours=1)
    waiting = DatasetImage.objects.create(dataset=on_vendor, original_name="w.png", created_at=long_ago)
    sending = DatasetImage.objects.create(
        dataset=on_vendor, original_name="s.png", state=DatasetImage.State.SENDING, claimed_at=long_ago
    )

    counts = services.training_recover()

    assert counts["senders"] == 1 and counts["interrupted"] == 1
    assert [job["args"] for job in queued_jobs.jobs(SEND_JOB)] == [(on_vendor.pk,)]
    assert DatasetImage.objects.get(pk=sending.pk).state == DatasetImage.State.FAILED
    assert DatasetImage.objects.get(pk=waiting.pk).state == DatasetImage.State.WAITING


def test_a_long_send_hands_over_to_a_fresh_job(admin, account, queued_jobs, settings):
    admin.post("/training/datasets/new/", {"name": "Many", "description": ""})
    dataset = Dataset.objects.get(name="Many")
    admin.post(
        f"/training/datasets/{dataset.pk}/images/upload/",
        {"images": [picture("a.png"), picture("b.png", colour="red")], "more": "1"},
        HTTP_ACCEPT="application/json",
    )
    queued_jobs.run()  # the sender the upload asked for is a job of its own: take it out of the queue
    settings.TRAINING_SEND_BUDGET_SECONDS = 0  # as in a real cluster, where a job has a time limit

    report = services.dataset_send(dataset_id=dataset.pk)

    assert report["stopped"] == "time budget spent"
    assert [job["args"] for job in queued_jobs.jobs()] == [(dataset.pk,)]
    assert dataset.images.filter(state=DatasetImage.State.WAITING).count() == 2
