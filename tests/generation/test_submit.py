"""Submitting: the web request stores a task, the engine sends it to Miaohua exactly once — again only when
Miaohua surely did nothing with it.

The vendor is the simulator over real HTTP; django-q2 runs inline (sync), so the engine runs inline once the
task is stored, and a submit in a transactional test runs the whole way: sending, polling, image downloads."""

import io
import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from generation import services
from generation.models import GenerationTask, InputImage
from generation.services import submit
from library.models import MemberSettings
from miaohua_site.accounts.services import upstream_account_store
from miaohua_site.simulator import faults, stats
from miaohua_site.simulator.services.accounts import account_create
from miaohua_site.workers import engine
from miaohua_site.workers.jobs import BUSY, NO_ANSWER, NOT_REACHED

State = GenerationTask.State


def txt2img(**overrides) -> dict:
    return {
        "versionid": "sgl_artist_v0.3.5_0925",
        "prompt": "a lighthouse at dusk",
        "neg_prompt": "blurry",
        "n_images": 1,
        "scale": 7,
        "ddim_steps": 20,
        "select_seed": 42,
        "output_size": "640x640",
        **overrides,
    }


def png_upload(name="input.png", size=(320, 240), colour="teal") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


@pytest.fixture
def connected(owner, simulator_url, settings, tmp_path):
    settings.GENERATION_MIRROR_IMAGES = False  # these tests are about submitting; test_mirroring downloads
    settings.GENERATION_POLL_INTERVAL_SECONDS = 0.2
    settings.MEDIA_ROOT = tmp_path / "media"
    return upstream_account_store(user=owner, email="demo@example.com", password="demo")


# --- In the web request ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_stores_a_queued_task_without_calling_miaohua(owner, django_capture_on_commit_callbacks):
    upstream_account_store(user=owner, email="demo@example.com", password="demo")
    params = txt2img(cn_configs=[{"cn": "canny", "weight": 1, "img": "input:7"}], lora_configs=[
        {"versionid": "lora_ink_sketch_v1", "merge_weight": 0.8}
    ])  # fmt: skip

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        task = services.generation_submit(
            user=owner, params=params, idempotency_key=uuid.uuid4(), model_name="Artist v0.3.5"
        )

    task.refresh_from_db()
    assert task.state == State.QUEUED
    assert task.params == params
    assert task.upstream_account == owner.upstream_account
    assert (task.prompt, task.neg_prompt, task.kind) == ("a lighthouse at dusk", "blurry", "txt2img")
    assert (task.versionid, task.model_name) == ("sgl_artist_v0.3.5_0925", "Artist v0.3.5")
    assert (task.lora_versionid, task.cn_types, task.n_images, task.output_size) == (
        "lora_ink_sketch_v1", "canny", 1, "640x640"
    )  # fmt: skip
    assert len(callbacks) == 1  # the engine is woken once the row is committed
    assert stats.calls() == 0


@pytest.mark.django_db
def test_it_makes_one_task_of_a_resent_form(owner, django_capture_on_commit_callbacks):
    key = uuid.uuid4()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = services.generation_submit(user=owner, params=txt2img(), idempotency_key=key)
        again = services.generation_submit(user=owner, params=txt2img(prompt="changed"), idempotency_key=key)

    assert again.pk == first.pk
    assert GenerationTask.objects.count() == 1
    assert len(callbacks) == 1


@pytest.mark.django_db
def test_it_returns_the_other_requests_task_when_both_insert_at_once(owner, monkeypatch):
    key = uuid.uuid4()
    other = services.generation_submit(user=owner, params=txt2img(), idempotency_key=key)
    monkeypatch.setattr(submit, "_task_with_key", lambda user, key: None)  # both looked before either wrote

    again = services.generation_submit(user=owner, params=txt2img(), idempotency_key=key)

    assert again.pk == other.pk
    assert GenerationTask.objects.count() == 1


@pytest.mark.django_db
def test_the_same_key_of_another_user_is_another_task(owner, outsider):
    key = uuid.uuid4()
    mine = services.generation_submit(user=owner, params=txt2img(), idempotency_key=key)
    theirs = services.generation_submit(user=outsider, params=txt2img(), idempotency_key=key)
    assert mine.pk != theirs.pk


# --- In the worker ---------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_it_sends_the_task_once_and_polls_it_to_done(owner, connected):
    task = services.generation_submit(user=owner, params=txt2img(), idempotency_key=uuid.uuid4())

    task.refresh_from_db()
    assert task.state == State.DONE, task.error_message
    assert stats.calls("task_submit") == 1
    assert task.upstream_task_id
    assert task.params_sent == txt2img()  # no input images: sent as asked, and never the token
    assert task.select_seed == 42
    assert task.submit_attempted_at <= task.submitted_at <= task.finished_at
    assert task.images.count() == 1
    assert task.images.get().upstream_large_url.startswith("http")


@pytest.mark.django_db(transaction=True)
def test_it_never_sends_a_task_twice(owner, connected):
    task = services.generation_submit(user=owner, params=txt2img(), idempotency_key=uuid.uuid4())

    assert services.generation_send(task_id=task.pk) == "not queued"  # a second engine, a second try
    assert stats.calls("task_submit") == 1


@pytest.mark.django_db(transaction=True)
def test_it_uploads_input_images_and_sends_their_links(owner, connected):
    init = services.input_image_create(user=owner, file=png_upload("init.png", (640, 640), "navy"))
    control = services.input_image_create(user=owner, file=png_upload("edges.png", (640, 640), "white"))
    params = txt2img(
        init_img=init.reference,
        strength=0.5,
        cn_configs=[
            {"cn": "canny", "weight": 1, "img": control.reference},
            {"cn": "tile", "weight": 0.5, "img": init.reference},
        ],
    )

    task = services.generation_submit(user=owner, params=params, idempotency_key=uuid.uuid4())

    task.refresh_from_db()
    assert task.state == State.DONE, task.error_message
    assert task.kind == "img2img"
    assert stats.calls("upload_img") == 2  # each image once, though init is used twice
    assert task.params["init_img"] == init.reference  # what the user asked is kept as asked
    sent = task.params_sent
    assert sent["init_img"].startswith("http") and "/files/upload/" in sent["init_img"]
    assert sent["cn_configs"][1]["img"] == sent["init_img"]
    assert sent["cn_configs"][0]["img"] != sent["init_img"]


@pytest.mark.django_db(transaction=True)
def test_it_uploads_an_image_picked_from_history(owner, connected, settings):
    settings.GENERATION_MIRROR_IMAGES = True
    first = services.generation_submit(user=owner, params=txt2img(), idempotency_key=uuid.uuid4())
    picked = services.input_image_from_history(user=owner, image=first.images.get())

    params = txt2img(init_img=picked.reference)
    del params["output_size"]  # image-to-image takes the input's size; "" would be a value, and not a size

    task = services.generation_submit(user=owner, params=params, idempotency_key=uuid.uuid4())

    task.refresh_from_db()
    assert task.state == State.DONE, task.error_message
    assert task.params_sent["init_img"].startswith("http")
    assert (picked.width, picked.height) == (640, 640)


@pytest.mark.django_db(transaction=True)
def test_it_never_uploads_another_users_image(owner, outsider, connected):
    theirs = services.input_image_create(user=outsider, file=png_upload())

    task = services.generation_submit(
        user=owner, params=txt2img(init_img=theirs.reference), idempotency_key=uuid.uuid4()
    )

    task.refresh_from_db()
    assert task.state == State.FAILED
    assert task.error_message == submit.INPUT_MISSING
    assert stats.calls("upload_img") == 0 and stats.calls("task_submit") == 0


@pytest.mark.django_db
def test_it_refuses_to_use_another_users_unshared_history_image(owner, outsider):
    MemberSettings.objects.create(user=outsider, share_with_team=False)
    task = GenerationTask.objects.create(owner=outsider, state=State.DONE)
    image = task.images.create(save_index=0, file="generated/x.png")
    with pytest.raises(PermissionDenied):
        services.input_image_from_history(user=owner, image=image)


@pytest.mark.django_db
def test_it_refuses_an_upload_that_is_not_an_image(owner):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.input_image_create(user=owner, file=SimpleUploadedFile("notes.png", b"not a picture"))
    assert InputImage.objects.count() == 0


# --- Refusals --------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_it_fails_with_miaohuas_words_on_a_sensitive_prompt(owner, connected):
    task = services.generation_submit(
        user=owner, params=txt2img(prompt="simsensitive cat"), idempotency_key=uuid.uuid4()
    )

    task.refresh_from_db()
    assert task.state == State.FAILED
    assert "refused the content" in task.error_message
    assert task.finished_at is not None
    assert stats.calls("task_submit") == 1 and stats.calls("task_results") == 0


@pytest.mark.django_db(transaction=True)
def test_it_fails_with_miaohuas_words_on_an_invalid_parameter(owner, connected):
    task = services.generation_submit(
        user=owner, params=txt2img(versionid="no_such_model"), idempotency_key=uuid.uuid4()
    )

    task.refresh_from_db()
    assert task.state == State.FAILED
    assert "no_such_model" in task.error_message and "refused a parameter" in task.error_message


@pytest.mark.django_db(transaction=True)
def test_it_fails_when_the_account_has_no_credits_left(owner, connected):
    account_create(email="demo@example.com", password="demo", credits=0)

    task = services.generation_submit(user=owner, params=txt2img(), idempotency_key=uuid.uuid4())

    task.refresh_from_db()
    assert task.state == State.FAILED
    assert "limit" in task.error_message


@pytest.mark.django_db(transaction=True)
def test_it_fails_when_miaohua_refuses_the_login(owner, simulator_url):
    upstream_account_store(user=owner, email="demo@example.com", password="wrong")

    task = services.generation_submit(user=owner, params=txt2img(), idempotency_key=uuid.uuid4())

    task.refresh_from_db()
    assert task.state == State.FAILED
    assert "email or password" in task.error_message


@pytest.mark.django_db(transaction=True)
def test_it_fails_without_a_connected_account(owner, simulator_url):
    task = services.generation_submit(user=owner, params=txt2img(), idempotency_key=uuid.uuid4())

    task.refresh_from_db()
    assert task.state == State.FAILED
    assert task.error_message == submit.NOT_CONNECTED
    assert stats.calls() == 0


@pytest.mark.django_db(transaction=True)
def test_it_does_not_resend_when_miaohua_does_not_answer(owner, connected, settings):
    settings.MIAOHUA_SIMULATOR_FAULTS = "error_rate=1,error_status=503,endpoints=task_submit"

    task = services.generation_submit(user=owner, params=txt2img(), idempotency_key=uuid.uuid4())

    task.refresh_from_db()
    assert task.state == State.FAILED
    assert task.error_message == NO_ANSWER
    assert stats.calls("task_submit") == 1


@pytest.mark.django_db(transaction=True)
def test_it_tries_again_and_then_says_nothing_was_sent_when_miaohua_cannot_be_reached(owner, settings):
    upstream_account_store(user=owner, email="demo@example.com", password="demo", token="mh." + "x" * 43)
    settings.MIAOHUA_API_BASE = "http://127.0.0.1:9/api/v1b/"  # the discard port: connection refused
    settings.GENERATION_SUBMIT_RETRIES = 3
    settings.GENERATION_SUBMIT_RETRY_SECONDS = 0.05

    task = services.generation_submit(user=owner, params=txt2img(), idempotency_key=uuid.uuid4())

    task.refresh_from_db()
    assert task.state == State.FAILED
    assert task.error_message == NOT_REACHED
    assert task.submit_attempts == 3


@pytest.fixture
def busy_once(monkeypatch):
    """The simulator answers the first task_submit with 429 (too many requests), the next ones normally."""
    rolls = iter([0.0])
    monkeypatch.setattr(faults, "roll", lambda: next(rolls, 0.99))
    return "error_rate=0.5,error_status=429,endpoints=task_submit"


@pytest.mark.django_db(transaction=True)
def test_a_task_miaohua_was_too_busy_to_take_is_sent_again(owner, connected, settings, busy_once):
    settings.MIAOHUA_SIMULATOR_FAULTS = busy_once

    task = services.generation_submit(user=owner, params=txt2img(), idempotency_key=uuid.uuid4())

    task.refresh_from_db()
    assert task.state == State.DONE, task.error_message
    assert stats.calls("task_submit") == 2  # the refused one, and the one that was taken
    assert stats.calls("task_submit", status=429) == 1
    assert task.submit_attempts == 1 and task.retry_reason == ""


@pytest.mark.django_db(transaction=True)
def test_while_it_waits_to_try_again_the_task_says_why(owner, connected, settings, busy_once, monkeypatch):
    settings.MIAOHUA_SIMULATOR_FAULTS = busy_once
    monkeypatch.setattr(engine, "wake", lambda: None)  # no engine: look at the task between the two tries
    task = services.generation_submit(user=owner, params=txt2img(), idempotency_key=uuid.uuid4())

    assert services.generation_send(task_id=task.pk) == "retry"

    task.refresh_from_db()
    assert task.state == State.QUEUED and task.submit_attempted_at is None
    assert task.retry_reason == (
        "Miaohua was too busy to take it, so nothing was sent. Trying again shortly (attempt 2 of 6)."
    )
    assert task.retry_at > timezone.now()
    assert services.generation_send(task_id=task.pk) == "not queued"  # not before its time


@pytest.mark.django_db(transaction=True)
def test_it_gives_up_with_a_plain_reason_when_miaohua_stays_too_busy(owner, connected, settings):
    settings.MIAOHUA_SIMULATOR_FAULTS = "error_rate=1,error_status=429,endpoints=task_submit"
    settings.GENERATION_SUBMIT_RETRIES = 2

    task = services.generation_submit(user=owner, params=txt2img(), idempotency_key=uuid.uuid4())

    task.refresh_from_db()
    assert task.state == State.FAILED
    assert task.error_message == BUSY
    assert stats.calls("task_submit") == 2


@pytest.mark.django_db(transaction=True)
def test_a_task_waits_while_the_account_has_too_many_running(owner, connected, settings):
    account_create(email="demo@example.com", password="demo", max_running_tasks=1)
    settings.GENERATION_SUBMIT_RETRY_SECONDS = 0.2
    with engine_paused():
        first = services.generation_submit(user=owner, params=txt2img(prompt="one"), idempotency_key=uuid.uuid4())
        second = services.generation_submit(user=owner, params=txt2img(prompt="two"), idempotency_key=uuid.uuid4())
    engine.run_until_idle()

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.state, second.state) == (State.DONE, State.DONE), (first.error_message, second.error_message)
    assert second.submit_attempts >= 1  # refused with code 123 while the first one ran, then taken
    assert stats.calls("task_submit") == 2 + second.submit_attempts


class engine_paused:
    """Store several tasks before the engine looks at any (in sync mode it runs as each one is stored)."""

    def __enter__(self):
        self._wake, engine.wake = engine.wake, lambda: None

    def __exit__(self, *exc):
        engine.wake = self._wake


# --- Recovery --------------------------------------------------------------------------------------------


def _stuck(owner, *, attempted: bool) -> GenerationTask:
    long_ago = timezone.now() - timedelta(minutes=1)  # past the longest an answer can take (40 s)
    return GenerationTask.objects.create(
        owner=owner,
        upstream_account=owner.upstream_account,
        params=txt2img(),
        state=State.SUBMITTING,
        created_at=long_ago,
        claimed_at=long_ago,
        submit_attempted_at=long_ago if attempted else None,
    )


@pytest.mark.django_db(transaction=True)
def test_a_task_stuck_after_its_send_is_failed_not_resent(owner, connected):
    task = _stuck(owner, attempted=True)

    engine.run_until_idle()  # an engine taking over from the one that died

    task.refresh_from_db()
    assert task.state == State.FAILED
    assert task.error_message == NO_ANSWER
    assert stats.calls("task_submit") == 0


@pytest.mark.django_db(transaction=True)
def test_a_task_whose_worker_died_before_sending_is_sent_once(owner, connected):
    task = _stuck(owner, attempted=False)

    engine.run_until_idle()

    task.refresh_from_db()
    assert task.state == State.DONE, task.error_message
    assert stats.calls("task_submit") == 1


@pytest.mark.django_db(transaction=True)
def test_a_queued_task_is_sent_by_the_next_engine_without_any_job(owner, connected):
    task = GenerationTask.objects.create(owner=owner, params=txt2img())  # stored while no worker ran

    engine.run_until_idle()

    task.refresh_from_db()
    assert task.state == State.DONE, task.error_message
    assert stats.calls("task_submit") == 1


@pytest.mark.django_db(transaction=True)
def test_try_again_makes_a_new_task_with_the_same_parameters(owner, connected):
    failed = services.generation_submit(
        user=owner, params=txt2img(prompt="simfail please"), idempotency_key=uuid.uuid4()
    )
    failed.refresh_from_db()
    assert failed.state == State.FAILED

    again = services.generation_retry(task=failed)

    assert again.pk != failed.pk
    assert again.params == failed.params
    assert again.idempotency_key != failed.idempotency_key
    assert stats.calls("task_submit") == 2
