"""Every task is fetched starting from the user: another user's task is a 404; the queue badge counts only
what is still on its way."""

import pytest
from django.http import Http404
from django.utils import timezone

from generation import selectors as queue
from generation.models import GenerationTask
from library import selectors
from library.models import MemberSettings

State = GenerationTask.State
pytestmark = pytest.mark.django_db


def keep_private(user):
    MemberSettings.objects.create(user=user, share_with_team=False)


def test_another_users_unshared_task_is_a_404(owner, outsider):
    keep_private(outsider)
    theirs = GenerationTask.objects.create(owner=outsider)

    with pytest.raises(Http404):
        selectors.task_for_user(owner, theirs.pk)
    assert selectors.task_for_user(outsider, theirs.pk) == theirs


def test_another_users_unshared_image_is_a_404(owner, outsider):
    keep_private(outsider)
    image = GenerationTask.objects.create(owner=outsider, state=State.DONE).images.create(save_index=0)

    with pytest.raises(Http404):
        selectors.image_for_user(owner, image.pk)
    assert selectors.image_for_user(outsider, image.pk) == image


def test_a_deleted_task_is_gone_from_every_list(owner):
    deleted = GenerationTask.objects.create(owner=owner, deleted_at=timezone.now())

    assert not selectors.tasks_visible_to(owner).exists()
    with pytest.raises(Http404):
        selectors.task_for_user(owner, deleted.pk)


def test_the_queue_counts_the_users_tasks_on_their_way(owner, outsider):
    for state in (State.QUEUED, State.SUBMITTING, State.PENDING, State.DONE, State.FAILED):
        GenerationTask.objects.create(owner=owner, state=state)
    GenerationTask.objects.create(owner=outsider, state=State.PENDING)
    GenerationTask.objects.create(owner=owner, state=State.PENDING, deleted_at=timezone.now())

    assert queue.queue_count(owner) == 3
    assert queue.queue_count(outsider) == 1


def test_the_newest_task_comes_first(owner):
    first = GenerationTask.objects.create(owner=owner)
    second = GenerationTask.objects.create(owner=owner, created_at=first.created_at)

    assert list(selectors.tasks_visible_to(owner)) == [second, first]


def test_a_teammate_sees_shared_tasks_but_cannot_change_them(owner, teammate):
    shared = GenerationTask.objects.create(owner=owner)  # sharing is on by default

    assert selectors.task_for_user(teammate, shared.pk) == shared
    with pytest.raises(Http404):
        selectors.task_owned_by(teammate, shared.pk)
    assert list(selectors.own_tasks(teammate)) == []


def test_an_admin_sees_everything(owner, admin_user):
    keep_private(owner)
    private = GenerationTask.objects.create(owner=owner)
    assert selectors.task_for_user(admin_user, private.pk) == private


def test_the_queue_counts_only_my_own_tasks(owner, teammate):
    GenerationTask.objects.create(owner=owner, state=State.PENDING)
    assert queue.queue_count(teammate) == 0
