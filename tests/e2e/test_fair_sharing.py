"""End to end with a real worker process: two members on the team's Miaohua account, A with a long queue and B
with one task: B's goes out among the first, A's go out no faster than the account's submission window, and
everything sent with the team account is polled and stored with it."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from generation.models import GenerationTask
from miaohua_site.simulator.models import SimApiCall
from miaohua_site.simulator.services.accounts import account_create
from team.models import Membership
from tests.e2e.conftest import wait_for

State = GenerationTask.State
pytestmark = pytest.mark.django_db(transaction=True)
PARAMS = {
    "versionid": "sgl_artist_v0.3.5_0925",
    "prompt": "a kite",
    "n_images": 1,
    "scale": 7,
    "ddim_steps": 20,
    "select_seed": 5,
    "output_size": "640x640",
}


def busiest_second(times):
    times, best, start = sorted(times), 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def test_b_is_not_held_back_by_as_queue(worker, django_user_model, team_account):
    account_create(email="team@example.com", password="team-pass", max_running_tasks=10_000)
    a = django_user_model.objects.create_user("member-a", password="a-pass-123")
    b = django_user_model.objects.create_user("member-b", password="b-pass-123")
    Membership.objects.bulk_create([Membership(user=user, uses_team_account=True) for user in (a, b)])
    start = timezone.now() - timedelta(seconds=30)
    GenerationTask.objects.bulk_create(
        GenerationTask(owner=a, upstream_account=team_account, idempotency_key=uuid.uuid4(), params=PARAMS,
                       prompt="a kite", created_at=start + timedelta(milliseconds=i))
        for i in range(60)
    )  # fmt: skip
    single = GenerationTask.objects.create(
        owner=b, upstream_account=team_account, params={**PARAMS, "prompt": "b's kite"}, prompt="b's kite"
    )

    assert wait_for(lambda: GenerationTask.objects.filter(pk=single.pk, state=State.DONE).exists(), timeout=60)

    sent = list(GenerationTask.objects.filter(submitted_at__isnull=False).order_by("submitted_at", "id"))
    assert [task.pk for task in sent].index(single.pk) < 4
    assert GenerationTask.objects.filter(owner=a, state=State.QUEUED).exists()  # A's still waiting meanwhile
    assert wait_for(lambda: all(image.thumbnail for image in single.images.all()) and single.images.exists())
    submits = [at.timestamp() for at in SimApiCall.objects.filter(endpoint="task_submit").values_list("at", flat=True)]
    assert busiest_second(submits) <= 6
    assert all(task.upstream_account_id == team_account.pk for task in sent)
