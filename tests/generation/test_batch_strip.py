"""A stored batch on the Generate page (issue #13): its progress strip, polled until every task is final, and
"Cancel the rest" for the tasks not sent yet. Only its owner sees or cancels it."""

import uuid

import pytest
from django.urls import reverse

from generation import services
from generation.models import GenerationTask, TaskGroup
from generation.plans import Plan, TaskPlan
from miaohua_site.accounts.services import upstream_account_store

State = GenerationTask.State


def batch_of(owner, n=3) -> TaskGroup:
    params = {
        "versionid": "sgl_artist_v0.3.5_0925",
        "prompt": "a kite",
        "n_images": 1,
        "scale": 7,
        "ddim_steps": 20,
        "select_seed": 5,
        "output_size": "640x640",
    }
    plan = Plan(tasks=[TaskPlan(params=dict(params)) for _ in range(n)], kind="batch")
    return services.generation_submit_group(user=owner, plan=plan, idempotency_key=uuid.uuid4())


@pytest.fixture(autouse=True)
def held(engine_held):
    """Nothing is sent: the tests set the states themselves."""
    return engine_held


@pytest.fixture
def signed_in(client, owner, simulator_url, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    upstream_account_store(user=owner, email="demo@example.com", password="demo")
    client.force_login(owner)
    return client


@pytest.mark.django_db(transaction=True)
def test_the_generate_page_shows_the_batch_and_cancel_stops_what_is_not_sent(signed_in, owner):
    group = batch_of(owner, 3)
    GenerationTask.objects.filter(pk=group.tasks.order_by("group_index")[0].pk).update(state=State.PENDING)

    page = signed_in.get(reverse("generate"), {"group": group.pk}).content.decode()
    assert f'id="group-{group.pk}"' in page
    assert "Batch of 3 tasks" in page and "0 done · 0 failed · 3 waiting" in page
    assert reverse("batch_strip", args=[group.pk]) in page  # it polls

    response = signed_in.post(reverse("batch_cancel", args=[group.pk]))
    assert response.status_code == 302
    states = list(group.tasks.order_by("group_index").values_list("state", "error_message"))
    assert states[0] == (State.PENDING, "")  # already sent: it keeps going
    assert states[1:] == [(State.FAILED, "Cancelled before it was sent.")] * 2

    GenerationTask.objects.filter(group=group).update(state=State.DONE)
    strip = signed_in.get(reverse("batch_strip", args=[group.pk]))
    assert strip.status_code == 286  # settled: the poll stops
    assert "3 done · 0 failed · 0 waiting" in strip.content.decode()
    assert "Cancel the rest" not in strip.content.decode()


@pytest.mark.django_db
def test_someone_elses_batch_is_not_found(client, owner, teammate, admin_user):
    group = batch_of(owner, 2)
    for other in (teammate, admin_user):
        client.force_login(other)
        assert client.get(reverse("batch_strip", args=[group.pk])).status_code == 404
        assert client.post(reverse("batch_cancel", args=[group.pk])).status_code == 404
    assert not GenerationTask.objects.filter(state=State.FAILED).exists()


@pytest.mark.django_db
def test_a_sweep_is_not_a_batch_here(client, owner):
    group = batch_of(owner, 2)
    TaskGroup.objects.filter(pk=group.pk).update(kind=TaskGroup.Kind.SWEEP)
    client.force_login(owner)
    assert client.get(reverse("batch_strip", args=[group.pk])).status_code == 404
