"""Roles: an admin makes someone a member, an admin or a viewer; is_staff follows; the last active admin stays one.
A viewer sees the team's gallery and history but is refused (403) on every view that sends or changes anything,
and the controls they cannot use are not drawn."""

import re

import pytest
from django.urls import reverse

from generation.models import GenerationTask
from library.models import Collection, CollectionItem, MemberSettings
from miaohua_site.accounts.services import upstream_account_store
from miaohua_site.audit.models import AuditEvent
from team.models import Membership, Role
from team.services import members
from tests.library.library_helpers import make_task
from training.models import Dataset

pytestmark = pytest.mark.django_db


def change_role(client, user, role):
    return client.post(reverse("team_member_role", args=[user.pk]), {"role": role})


@pytest.fixture
def as_admin(client, admin_user):
    client.force_login(admin_user)
    return client


def test_an_admin_makes_a_member_an_admin_and_back(as_admin, admin_user, owner):
    assert change_role(as_admin, owner, "admin").status_code == 302
    owner.refresh_from_db()
    assert owner.is_staff and owner.membership.role == Role.ADMIN
    event = AuditEvent.objects.get(action=AuditEvent.Action.ROLE_CHANGED)
    assert event.actor == admin_user and event.details == {"old": "member", "new": "admin"}

    owner.is_superuser = True
    owner.save()
    assert change_role(as_admin, owner, "member").status_code == 302
    owner.refresh_from_db()
    assert not owner.is_staff and not owner.is_superuser and owner.membership.role == Role.MEMBER


def test_a_demoted_admin_loses_the_admin_pages_at_once(client, admin_user, owner):
    members.role_change(member=owner, role=Role.ADMIN)
    client.force_login(owner)
    assert client.get(reverse("team_members")).status_code == 200
    members.role_change(member=owner, role=Role.MEMBER)
    assert client.get(reverse("team_members")).status_code == 403


def test_a_member_made_viewer_can_no_longer_generate_nor_use_the_team_account(as_admin, owner, team_account):
    Membership.objects.create(user=owner, uses_team_account=True)
    change_role(as_admin, owner, "viewer")
    owner.refresh_from_db()
    assert owner.membership.role == Role.VIEWER and not owner.membership.uses_team_account
    as_admin.force_login(owner)
    assert as_admin.get(reverse("generate")).status_code == 403


def test_the_last_active_admin_cannot_be_demoted(as_admin, admin_user, django_user_model):
    # Another admin who is deactivated does not count.
    other = django_user_model.objects.create_user("gone", "gone@example.com", "x", is_staff=True, is_active=False)
    response = change_role(as_admin, admin_user, "member")
    assert response.status_code == 400
    row = re.search(rf'<tr id="member-{admin_user.pk}".*?</tr>', response.content.decode(), re.S).group(0)
    assert f'id="role-{admin_user.pk}-error">admin is the last active admin' in row
    admin_user.refresh_from_db()
    assert admin_user.is_staff
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.ROLE_CHANGED).exists()
    other.is_active = True
    other.save()
    assert change_role(as_admin, admin_user, "member").status_code == 302


@pytest.mark.parametrize("role", ["", "superuser", "ADMIN", "99999999999999999999", "a\x01b", ["admin", "boss"]])
def test_a_bad_role_is_refused_beside_the_control(as_admin, owner, role):
    response = change_role(as_admin, owner, role)
    assert response.status_code == 400
    assert f'id="role-{owner.pk}-error"' in response.content.decode()
    owner.refresh_from_db()
    assert not owner.is_staff


def test_the_same_role_again_changes_nothing(as_admin, owner):
    assert change_role(as_admin, owner, "member").status_code == 302
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.ROLE_CHANGED).exists()


# --- The viewer ------------------------------------------------------------------------------------------------


@pytest.fixture
def teammates_things(teammate, admin_user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    task = make_task(teammate, n_images=1)
    collection = Collection.objects.create(owner=teammate, name="Boards", is_shared=True)
    CollectionItem.objects.create(collection=collection, image=task.images.first())
    upstream_account_store(user=admin_user, email="a@example.com", password="pw")
    dataset = Dataset.objects.create(
        name="Faces", created_by=admin_user, upstream_account=admin_user.upstream_account, account_email="a@example.com"
    )
    return task, collection, dataset


def write_views(task, collection, dataset):
    """Every view that sends work or changes something, with plausible data."""
    image = task.images.first()
    return [
        (reverse("generate"), {"prompt": "x"}),
        (reverse("task_retry", args=[task.pk]), {}),
        (reverse("describe"), {}),
        (reverse("tasks_delete"), {"task": task.pk}),
        (reverse("tasks_restore"), {"task": task.pk}),
        (reverse("task_favourite", args=[task.pk]), {"favourite": "1"}),
        (reverse("sharing"), {"share": "0"}),
        (reverse("collection_list"), {"name": "Mine"}),
        (reverse("collection_add"), {"image": image.pk, "new_name": "Mine"}),
        (reverse("collection_edit", args=[collection.pk]), {"name": "Renamed"}),
        (reverse("collection_delete", args=[collection.pk]), {}),
        (reverse("collection_remove", args=[collection.pk]), {"image": image.pk}),
        (reverse("collection_cover", args=[collection.pk]), {"image": image.pk}),
        (reverse("upstream_settings"), {"email": "v@example.com", "password": "pw"}),
        (reverse("upstream_disconnect"), {}),
        (reverse("dataset_create"), {"name": "New"}),
        (reverse("dataset_edit", args=[dataset.pk]), {"name": "Renamed"}),
        (reverse("dataset_send", args=[dataset.pk]), {}),
        (reverse("dataset_images_remove", args=[dataset.pk]), {}),
        (reverse("training_create"), {}),
    ]


def test_a_viewer_is_refused_on_every_write_view(client, viewer, teammates_things):
    task, collection, dataset = teammates_things
    client.force_login(viewer)
    for url, data in write_views(*teammates_things):
        assert client.post(url, data).status_code == 403, url
    assert GenerationTask.objects.filter(deleted_at__isnull=True).count() == 1
    assert not Collection.objects.filter(owner=viewer).exists()
    assert Collection.objects.get(pk=collection.pk).name == "Boards"
    assert CollectionItem.objects.filter(collection=collection).count() == 1
    assert Dataset.objects.get(pk=dataset.pk).name == "Faces"
    assert not MemberSettings.objects.filter(user=viewer).exists()


def test_a_member_is_not_refused_on_those_views(client, owner, teammates_things):
    client.force_login(owner)
    assert client.post(reverse("collection_list"), {"name": "Mine"}).status_code == 302
    assert client.post(reverse("sharing"), {"share": "0"}).status_code == 302


def test_a_viewer_sees_the_team_gallery_history_collections_and_datasets(client, viewer, teammates_things):
    task, collection, dataset = teammates_things
    client.force_login(viewer)
    gallery = client.get(reverse("gallery"))
    assert gallery.status_code == 200 and f'aria-label="Task {task.pk}"' in gallery.content.decode()
    image = task.images.first()
    for url in (
        reverse("history"),
        reverse("image_detail", args=[image.pk]),
        reverse("image_file", args=[image.pk, "thumb"]),
        reverse("collection_list"),
        reverse("collection_detail", args=[collection.pk]),
        reverse("dataset_list"),
        reverse("dataset_detail", args=[dataset.pk]),
    ):
        assert client.get(url).status_code == 200, url
    # The ZIP is a read: a viewer may download what they see.
    assert client.post(reverse("history_zip"), {"task": task.pk}).status_code == 200


def test_a_viewer_is_shown_no_control_they_cannot_use(client, viewer, teammates_things):
    task, collection, dataset = teammates_things
    client.force_login(viewer)
    gallery = client.get(reverse("gallery")).content.decode()
    nav = gallery.split("</nav>", 1)[0]
    assert ">Generate</a>" not in nav and 'id="queue-badge"' not in nav
    assert "Share with the team" not in gallery and "Make private" not in gallery
    assert "Add to collection" not in gallery and "Download ZIP" in gallery
    detail = client.get(reverse("image_detail", args=[task.images.first().pk])).content.decode()
    assert "Reuse settings" not in detail and "Use as init image" not in detail and "Add to collection" not in detail
    collections = client.get(reverse("collection_list")).content.decode()
    assert "Create collection" not in collections
    settings_page = client.get(reverse("upstream_settings")).content.decode()
    assert "You are a viewer" in settings_page and 'name="password"' not in settings_page


def test_a_member_sees_those_controls(client, owner, teammates_things):
    client.force_login(owner)
    gallery = client.get(reverse("gallery")).content.decode()
    assert ">Generate</a>" in gallery and "Add to collection" in gallery
    assert "Create collection" in client.get(reverse("collection_list")).content.decode()


def test_a_viewer_who_signs_in_lands_on_the_team_gallery(client, viewer):
    response = client.post(reverse("login"), {"username": "viewer", "password": "viewer-pass-123"}, follow=True)
    assert response.status_code == 200 and response.redirect_chain[-1][0] == reverse("gallery")


def test_a_new_role_shows_in_the_navigation_at_once(client, admin_user, owner):
    client.force_login(owner)
    assert ">Generate</a>" in client.get(reverse("history")).content.decode()
    members.role_change(member=owner, role=Role.VIEWER)
    assert ">Generate</a>" not in client.get(reverse("history")).content.decode()
    members.role_change(member=owner, role=Role.MEMBER)
    assert ">Generate</a>" in client.get(reverse("history")).content.decode()
