"""End to end with a real django-q2 worker process (`manage.py qcluster`), as in production: the dashboard
stores a task, the engine in the worker sends, polls and stores images; a worker killed mid-poll loses nothing
and sends nothing twice. The simulator answers on Django's live server; the worker shares the test database."""

import uuid

import pytest
from django.urls import reverse

from generation.models import GenerationTask
from miaohua_site.accounts.services import upstream_account_store
from miaohua_site.simulator import stats
from tests.e2e.conftest import wait_for

State = GenerationTask.State
pytestmark = pytest.mark.django_db(transaction=True)


def submit(user, prompt):
    from generation import services

    return services.generation_submit(
        user=user,
        idempotency_key=uuid.uuid4(),
        model_name="Artist v0.3.5",
        params={
            "versionid": "sgl_artist_v0.3.5_0925",
            "prompt": prompt,
            "n_images": 1,
            "scale": 7,
            "ddim_steps": 20,
            "select_seed": 5,
            "output_size": "640x640",
            "strength": 0.6,
        },
    )


def test_a_task_from_the_form_is_finished_by_the_worker(worker, client, owner):
    upstream_account_store(user=owner, email="demo@example.com", password="demo")
    client.force_login(owner)
    page = client.get(reverse("generate"))  # a cold cache: placeholders, and the worker fetches the catalogs
    assert "Loading the model list from Miaohua" in page.content.decode()
    for picker in ("models", "loras", "sizes", "controlnets"):
        url = reverse("generate_picker", args=[picker])
        assert wait_for(lambda url=url: client.get(url).status_code == 286), picker
    response = client.post(
        reverse("generate"),
        {
            "idempotency_key": str(uuid.uuid4()),
            "versionid": "sgl_artist_v0.3.5_0925",
            "prompt": "a kite over dunes",
            "n_images": "2",
            "scale": "7",
            "ddim_steps": "20",
            "select_seed": "-1",
            "output_size": "640x640",
            "mode": "txt2img",
            "strength": "0.6",
            "lora_weight": "0.8",
            "sensitive_limit_value": "0",
        },
    )
    assert response.status_code == 302
    task = GenerationTask.objects.get(owner=owner)
    assert task.state == State.QUEUED  # nothing happened in the web request

    assert wait_for(lambda: GenerationTask.objects.filter(pk=task.pk, state=State.DONE).exists()), (
        GenerationTask.objects.get(pk=task.pk).state
    )
    assert wait_for(lambda: all(image.thumbnail for image in task.images.all()) and task.images.count() == 2)
    assert stats.calls("task_submit") == 1


def test_a_worker_killed_mid_poll_loses_nothing_and_sends_nothing_twice(worker, owner, settings):
    settings.MIAOHUA_SIMULATOR_TASK_SECONDS = 4  # long enough to kill the worker while it polls
    upstream_account_store(user=owner, email="demo@example.com", password="demo")
    tasks = [submit(owner, f"a lantern number {n}") for n in range(3)]

    assert wait_for(lambda: GenerationTask.objects.filter(state=State.PENDING).count() == 3, timeout=30)
    worker.kill()
    assert GenerationTask.objects.filter(state=State.DONE).count() == 0

    worker.start()  # no job is needed: the new worker's engine finds what is in flight

    assert wait_for(lambda: GenerationTask.objects.filter(state=State.DONE).count() == 3, timeout=30), list(
        GenerationTask.objects.values_list("state", flat=True)
    )
    assert stats.calls("task_submit") == len(tasks)  # each sent exactly once
