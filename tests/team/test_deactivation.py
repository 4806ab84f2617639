"""Deactivating a member: they are signed out at once and cannot sign in, their history stays, their collections
and datasets go to whom the admin chooses, their work not yet sent fails plainly. Reactivating lets them back."""

import re

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from generation.models import GenerationTask
from library.models import Collection
from miaohua_site.accounts.services import upstream_account_store
from miaohua_site.audit.models import AuditEvent
from team.models import Membership
from team.services import members
from tests.library.library_helpers import make_task
from training.models import Dataset

pytestmark = pytest.mark.django_db
HUGE = "99999999999999999999999"


@pytest.fixture
def as_admin(client, admin_user):
    client.force_login(admin_user)
    return client


def deactivate(client, member, receiver):
    return client.post(reverse("team_member_deactivate", args=[member.pk]), {"receiver": str(receiver)})


def signed_in_client(username, password) -> Client:
    other = Client()
    response = other.post(reverse("login"), {"username": username, "password": password})
    assert response.status_code == 302
    return other


def test_the_confirmation_page_offers_active_members_and_defaults_to_the_admin(
    as_admin, admin_user, owner, teammate, viewer, django_user_model
):
    django_user_model.objects.create_user("former", "former@example.com", "x", is_active=False)
    page = as_admin.get(reverse("team_member_deactivate", args=[owner.pk])).content.decode()
    select = re.search(r'<select name="receiver".*?</select>', page, re.S).group(0)
    offered = re.findall(r"<option[^>]*>([^<]+)</option>", select)
    assert offered == ["admin", "teammate"]  # not the leaving member, a viewer or a deactivated person
    assert re.search(rf'<option value="{admin_user.pk}" selected>', select)


def test_a_deactivated_member_is_signed_out_at_once_and_cannot_sign_in(as_admin, owner, admin_user):
    theirs = signed_in_client("owner", "owner-pass-123")
    assert theirs.get(reverse("history")).status_code == 200
    assert deactivate(as_admin, owner, admin_user.pk).status_code == 302

    next_request = theirs.get(reverse("history"))
    assert next_request.status_code == 302 and next_request.url.startswith(reverse("login"))
    assert not [s for s in Session.objects.all() if s.get_decoded().get("_auth_user_id") == str(owner.pk)]
    again = Client().post(reverse("login"), {"username": "owner", "password": "owner-pass-123"})
    assert again.status_code == 200 and "_auth_user_id" not in again.client.session

    owner.refresh_from_db()
    assert not owner.is_active
    assert owner.membership.deactivated_at is not None and owner.membership.deactivated_by == admin_user


def test_collections_and_datasets_go_to_the_chosen_member_and_the_history_stays(
    as_admin, admin_user, owner, teammate, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    done = make_task(owner, n_images=1)
    queued = GenerationTask.objects.create(owner=owner, prompt="later", state=GenerationTask.State.QUEUED)
    Collection.objects.create(owner=owner, name="Moodboard")
    Collection.objects.create(owner=owner, name="Portraits")
    Collection.objects.create(owner=teammate, name="Portraits")  # a name the receiver has already
    upstream_account_store(user=owner, email="o@example.com", password="pw")
    Dataset.objects.create(
        name="Faces", created_by=owner, upstream_account=owner.upstream_account, account_email="o@example.com"
    )

    assert deactivate(as_admin, owner, teammate.pk).status_code == 302

    names = sorted(Collection.objects.filter(owner=teammate).values_list("name", flat=True))
    assert names == ["Moodboard", "Portraits", "Portraits (from owner)"]
    assert not Collection.objects.filter(owner=owner).exists()
    assert Dataset.objects.get(name="Faces").created_by == teammate
    done.refresh_from_db()
    queued.refresh_from_db()
    assert done.state == GenerationTask.State.DONE and done.deleted_at is None  # the history stays
    assert queued.state == GenerationTask.State.FAILED
    assert queued.error_message == "Not sent: owner was deactivated before this went to Miaohua."

    handed = AuditEvent.objects.get(action=AuditEvent.Action.ITEMS_HANDED_OVER)
    assert handed.actor == admin_user and handed.details["collections"] == 2 and handed.details["datasets"] == 1
    assert handed.details["to"] == "teammate"
    deactivated = AuditEvent.objects.get(action=AuditEvent.Action.MEMBER_DEACTIVATED)
    assert deactivated.target_id == str(owner.pk) and deactivated.details["tasks_failed"] == 1


def test_an_admin_cannot_deactivate_themselves(as_admin, admin_user, owner):
    page = as_admin.get(reverse("team_member_deactivate", args=[admin_user.pk]))
    assert "You cannot deactivate yourself" in page.content.decode() and 'name="receiver"' not in page.content.decode()
    response = deactivate(as_admin, admin_user, owner.pk)
    assert response.status_code == 400
    admin_user.refresh_from_db()
    assert admin_user.is_active
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.MEMBER_DEACTIVATED).exists()


def test_the_last_active_admin_cannot_be_deactivated(admin_user, owner):
    with pytest.raises(members.MemberError, match="last active admin"):
        members.member_deactivate(member=admin_user, receiver=owner, by=owner)
    admin_user.refresh_from_db()
    assert admin_user.is_active


@pytest.mark.parametrize("receiver", ["", "abc", "1.5", HUGE, "-1", "self", "viewer", "former"])
def test_a_bad_receiver_is_refused_beside_the_field(as_admin, owner, viewer, django_user_model, receiver):
    former = django_user_model.objects.create_user("former", "former@example.com", "x", is_active=False)
    value = {"self": owner.pk, "viewer": viewer.pk, "former": former.pk}.get(receiver, receiver)
    response = deactivate(as_admin, owner, value)
    assert response.status_code == 400
    assert 'id="id_receiver_error"' in response.content.decode()
    owner.refresh_from_db()
    assert owner.is_active


def test_deactivating_twice_says_so(as_admin, admin_user, owner):
    deactivate(as_admin, owner, admin_user.pk)
    again = deactivate(as_admin, owner, admin_user.pk)
    assert again.status_code == 400 and "already deactivated" in again.content.decode()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.MEMBER_DEACTIVATED).count() == 1


def test_a_reactivated_member_signs_in_again(as_admin, admin_user, owner):
    deactivate(as_admin, owner, admin_user.pk)
    assert as_admin.post(reverse("team_member_reactivate", args=[owner.pk])).status_code == 302
    owner.refresh_from_db()
    assert owner.is_active and Membership.objects.get(user=owner).deactivated_at is None
    signed_in_client("owner", "owner-pass-123")
    assert AuditEvent.objects.filter(action=AuditEvent.Action.MEMBER_REACTIVATED, target_id=str(owner.pk)).exists()
    # Reactivating an active member changes nothing and records nothing more.
    as_admin.post(reverse("team_member_reactivate", args=[owner.pk]))
    assert AuditEvent.objects.filter(action=AuditEvent.Action.MEMBER_REACTIVATED).count() == 1
