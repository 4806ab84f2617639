"""The notices of finished batches and sweeps (issue #13): due once every task is final, worded by what
happened, dismissed one by one or all, only ever their owner's, and no poller for viewers."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from generation import notices, services
from generation.models import GeneratedImage, GenerationTask, TaskGroup
from generation.plans import Plan, TaskPlan

pytestmark = pytest.mark.django_db
State = GenerationTask.State


def make_group(user, n=3, kind="batch", n_images=2) -> TaskGroup:
    tasks = [
        TaskPlan(params={"versionid": "v", "prompt": f"a lighthouse {i}", "n_images": n_images}, model_name="Artist")
        for i in range(n)
    ]
    return services.generation_submit_group(user=user, plan=Plan(tasks=tasks, kind=kind), idempotency_key=uuid.uuid4())


def finish(group, states, images_each=2):
    for task, state in zip(group.tasks.order_by("group_index"), states, strict=True):
        task.state = state
        task.error_message = "The vendor refused the prompt." if state == State.FAILED else ""
        task.save()
        if state == State.DONE:
            for index in range(images_each):
                GeneratedImage.objects.create(task=task, save_index=index, width=640, height=640, seed=1)


def test_no_notice_until_every_task_is_final(owner):
    group = make_group(owner, 3)
    finish(group, [State.DONE, State.DONE, State.PENDING])
    assert notices.notices_for(owner) == []
    group.refresh_from_db()
    assert group.finished_at is None
    task = group.tasks.get(group_index=2)
    task.state = State.DONE
    task.save()
    [notice] = notices.notices_for(owner)
    assert notice.pk == group.pk and notice.state == "done"
    group.refresh_from_db()
    first = group.finished_at
    assert first is not None
    notices.notices_for(owner)
    group.refresh_from_db()
    assert group.finished_at == first  # set once, the first time it is seen


def test_the_wording_says_what_happened(owner):
    done = make_group(owner, 4)
    finish(done, [State.DONE] * 4)
    partial = make_group(owner, 27, kind="sweep", n_images=1)
    finish(partial, [State.DONE] * 25 + [State.FAILED] * 2, images_each=1)
    failed = make_group(owner, 2)
    finish(failed, [State.FAILED, State.FAILED])
    sweep_done = make_group(owner, 3, kind="sweep")
    finish(sweep_done, [State.DONE] * 3)

    by_pk = {n.pk: n for n in notices.notices_for(owner)}
    assert (by_pk[done.pk].state, by_pk[done.pk].title) == ("done", "Batch finished: 8 of 8 images")
    assert (by_pk[partial.pk].state, by_pk[partial.pk].title) == (
        "partial",
        "Sweep finished: 25 of 27 tasks done, 2 failed",
    )
    assert by_pk[partial.pk].body == "The vendor refused the prompt."
    assert (by_pk[failed.pk].state, by_pk[failed.pk].title) == ("failed", "Batch failed: all 2 tasks failed")
    assert by_pk[sweep_done.pk].title == "Sweep finished: 3 of 3 tasks done"


def test_a_batch_with_fewer_images_than_asked_says_so(owner):
    group = make_group(owner, 2)
    finish(group, [State.DONE, State.DONE], images_each=1)
    [notice] = notices.notices_for(owner)
    assert notice.title == "Batch finished: 2 of 4 images"


def test_the_poll_is_a_few_cheap_queries(owner):
    for _ in range(5):
        finish(make_group(owner, 3), [State.DONE] * 3)
    with CaptureQueriesContext(connection) as queries:
        assert len(notices.notices_for(owner)) == 5
    assert len(queries) <= 2


def test_the_poll_shows_the_notice_and_links_to_the_group(client, owner):
    group = make_group(owner, 2)
    finish(group, [State.DONE, State.DONE])
    client.force_login(owner)
    page = client.get(reverse("group_notices")).content.decode()
    assert "Batch finished: 4 of 4 images" in page
    assert f'data-notice-url="/generate/?group={group.pk}#group-{group.pk}"' in page
    assert "load, every 5s" not in page and 'hx-trigger="every 5s"' in page  # app.js pauses it in a hidden tab


def test_dismiss_one_and_all(client, owner):
    first, second, third = (make_group(owner, 1) for _ in range(3))
    for group in (first, second, third):
        finish(group, [State.DONE])
    client.force_login(owner)
    response = client.post(reverse("group_notices_dismiss"), {"group": first.pk}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert {n.pk for n in notices.notices_for(owner)} == {second.pk, third.pk}
    client.post(reverse("group_notices_dismiss"))
    assert notices.notices_for(owner) == []
    assert TaskGroup.objects.filter(notice_seen_at__isnull=True).count() == 0


def test_others_never_see_or_dismiss_someones_notice(client, owner, teammate, admin_user):
    group = make_group(owner, 1)
    finish(group, [State.DONE])
    for other in (teammate, admin_user):
        client.force_login(other)
        assert "Batch finished" not in client.get(reverse("group_notices")).content.decode()
        client.post(reverse("group_notices_dismiss"), {"group": group.pk})
    assert [n.pk for n in notices.notices_for(owner)] == [group.pk]  # still there for its owner


def test_every_page_has_a_lazy_poller_for_members_and_none_for_viewers(client, owner, viewer):
    client.force_login(owner)
    page = client.get(reverse("history")).content.decode()
    assert 'id="group-notices"' in page and 'hx-trigger="load, every 5s' in page and "notices.js" in page
    client.force_login(viewer)
    seen = client.get(reverse("gallery")).content.decode()
    assert 'id="group-notices"' not in seen and "notices.js" not in seen
    assert client.get(reverse("group_notices")).status_code == 286  # a stale poller stops


def test_signed_out_people_are_sent_to_sign_in(client):
    assert client.get(reverse("group_notices")).status_code == 302
    assert client.post(reverse("group_notices_dismiss")).status_code == 302
