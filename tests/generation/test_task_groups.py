"""A batch or a sweep is stored as one group of ordinary tasks (issue #13): all of them or none, in the plan's
order, checked against the member's quotas as a whole, once per form (its one-time key)."""

import uuid

import pytest

from generation import services
from generation.models import GenerationTask, Style, TaskGroup
from generation.plans import Plan, TaskPlan
from team.models import Membership
from team.services.quotas import QuotaExceeded


def params(seed, n_images=2) -> dict:
    return {
        "versionid": "sgl_artist_v0.3.5_0925",
        "prompt": f"a lighthouse, seed {seed}",
        "n_images": n_images,
        "scale": 7,
        "ddim_steps": 20,
        "select_seed": seed,
        "output_size": "640x640",
    }


def sweep_plan(n=3) -> Plan:
    tasks = [TaskPlan(params=params(seed), model_name="Artist", cell=[i, 0, 0]) for i, seed in enumerate(range(n))]
    return Plan(tasks=tasks, kind="sweep", axes=[{"kind": "seed", "values": list(range(n))}], base_params=params(-1))


@pytest.fixture
def member(django_user_model):
    return django_user_model.objects.create_user("mei", password="pw-12345-long")


@pytest.mark.django_db
def test_a_sweep_is_one_group_of_ordinary_tasks_in_order(member):
    group = services.generation_submit_group(user=member, plan=sweep_plan(3), idempotency_key=uuid.uuid4())

    assert (group.kind, group.n_tasks, group.n_images) == ("sweep", 3, 6)
    tasks = list(group.tasks.order_by("group_index"))
    assert [t.group_index for t in tasks] == [0, 1, 2]
    assert [t.cell for t in tasks] == [[0, 0, 0], [1, 0, 0], [2, 0, 0]]
    assert all(t.state == GenerationTask.State.QUEUED and t.owner == member for t in tasks)
    assert [t.select_seed for t in tasks] == [None, None, None]  # the vendor's seed, once it answers
    assert [t.params["select_seed"] for t in tasks] == [0, 1, 2]
    assert len({t.idempotency_key for t in tasks}) == 3


@pytest.mark.django_db
def test_the_same_form_sent_twice_makes_one_group(member):
    key = uuid.uuid4()
    first = services.generation_submit_group(user=member, plan=sweep_plan(2), idempotency_key=key)
    again = services.generation_submit_group(user=member, plan=sweep_plan(2), idempotency_key=key)
    assert first.pk == again.pk
    assert GenerationTask.objects.count() == 2


@pytest.mark.django_db
def test_a_group_over_the_daily_quota_is_refused_whole(member):
    Membership.objects.update_or_create(user=member, defaults={"images_per_day": 5})
    member.refresh_from_db()
    with pytest.raises(QuotaExceeded) as refused:
        services.generation_submit_group(user=member, plan=sweep_plan(3), idempotency_key=uuid.uuid4())  # 6 images
    assert "Your daily quota is 5 images" in refused.value.message
    assert not TaskGroup.objects.exists() and not GenerationTask.objects.exists()


@pytest.mark.django_db
def test_a_group_with_more_tasks_than_may_run_at_once_is_refused(member):
    Membership.objects.update_or_create(user=member, defaults={"tasks_in_flight": 2})
    member.refresh_from_db()
    with pytest.raises(QuotaExceeded) as refused:
        services.generation_submit_group(user=member, plan=sweep_plan(3), idempotency_key=uuid.uuid4())
    assert "These are 3 tasks; your quota allows 2 running at once" in refused.value.message
    assert not GenerationTask.objects.exists()


@pytest.mark.django_db
def test_the_styles_a_task_was_made_with_are_recorded(member):
    style = Style.objects.create(owner=member, name="Moody", prompt="{prompt}, moody light")
    task = services.generation_submit(
        user=member, params=params(1), idempotency_key=uuid.uuid4(), style_ids=[style.pk], style_names="Moody"
    )
    assert list(task.styles.all()) == [style]
    assert task.style_names == "Moody"
