"""The team's Miaohua account: an admin connects, replaces or removes it and chooses which members may use it;
members see only that their work goes through it, never its credentials or even its email."""

import uuid

import pytest
from django.urls import reverse

from generation import services as generation
from generation.models import GenerationTask
from generation.services.submit import TEAM_ACCOUNT_REFUSED
from miaohua_site.accounts.models import UpstreamAccount
from miaohua_site.accounts.services import account_for_user, upstream_account_store
from miaohua_site.audit.models import AuditEvent
from miaohua_site.simulator.services.accounts import account_create
from team.models import Membership, Role

live = pytest.mark.django_db(transaction=True)
TEAM_EMAIL = "team-account@example.com"
TEAM_PASSWORD = "team-secret-pass-9"

PAGE = reverse("team_account_settings")
REMOVE = reverse("team_account_remove")
SHARING = reverse("team_account_sharing")


@pytest.fixture
def as_admin(client, admin_user):
    client.force_login(admin_user)
    return client


TEAM_ACTIONS = [
    AuditEvent.Action.ACCOUNT_CONNECTED,
    AuditEvent.Action.ACCOUNT_REPLACED,
    AuditEvent.Action.ACCOUNT_REMOVED,
    AuditEvent.Action.TEAM_ACCOUNT_SHARING_CHANGED,
]


def team_events():
    return AuditEvent.objects.filter(action__in=TEAM_ACTIONS)


def fresh(user):
    return type(user).objects.get(pk=user.pk)


def shared_with(*users):
    for user in users:
        Membership.objects.update_or_create(user=user, defaults={"uses_team_account": True})


# --- Who may open the admin views ---------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "url"), [("get", PAGE), ("post", PAGE), ("post", REMOVE), ("post", SHARING)]
)
def test_it_refuses_members_and_viewers_and_sends_visitors_to_sign_in(
    client, owner, teammate, outsider, viewer, team_account, method, url
):
    shared_with(teammate)  # even a member who may use the team account cannot change it
    assert getattr(client, method)(url).status_code == 302
    assert "/accounts/login/" in getattr(client, method)(url)["Location"]
    for user in (owner, teammate, outsider, viewer):
        client.force_login(user)
        assert getattr(client, method)(url).status_code == 403
    assert not team_events().exists()
    assert UpstreamAccount.objects.filter(is_team=True).exists()


@pytest.mark.django_db
def test_it_lets_an_admin_remove_only_by_post(as_admin):
    assert as_admin.get(REMOVE).status_code == 405
    assert as_admin.get(SHARING).status_code == 405


# --- Connect, replace, remove -------------------------------------------------------------------------------


@live
def test_it_connects_the_team_account_verified_by_miaohua(as_admin, admin_user, simulator_url):
    account_create(email=TEAM_EMAIL, password=TEAM_PASSWORD)

    response = as_admin.post(PAGE, {"email": TEAM_EMAIL, "password": TEAM_PASSWORD}, follow=True)

    assert response.status_code == 200
    account = UpstreamAccount.objects.get(is_team=True)
    assert account.user is None and account.email == TEAM_EMAIL
    assert account.password == TEAM_PASSWORD and account.token  # checked with get_token, stored encrypted
    assert TEAM_PASSWORD not in account.password_encrypted
    page = response.content.decode()
    assert "connected as" in page and TEAM_EMAIL in page
    assert TEAM_PASSWORD not in page
    event = AuditEvent.objects.get(action=AuditEvent.Action.ACCOUNT_CONNECTED)
    assert event.actor == admin_user and event.details == {"team": True}
    assert not UpstreamAccount.objects.filter(user=admin_user).exists()  # not the admin's own


@live
def test_a_refused_password_is_said_beside_it_and_the_email_is_kept(as_admin, simulator_url):
    account_create(email=TEAM_EMAIL, password=TEAM_PASSWORD)

    response = as_admin.post(PAGE, {"email": TEAM_EMAIL, "password": "not-the-password"})

    assert response.status_code == 400
    assert "Miaohua did not accept" in " ".join(response.context["form"].errors["password"])
    assert f'value="{TEAM_EMAIL}"' in response.content.decode()
    assert b"not-the-password" not in response.content
    assert not UpstreamAccount.objects.filter(is_team=True).exists()
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.ACCOUNT_CONNECTED).exists()


@pytest.mark.django_db
def test_an_empty_form_is_answered_beside_its_fields(as_admin):
    response = as_admin.post(PAGE, {"email": "not an email", "password": ""})
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"email", "password"}


@live
def test_it_replaces_the_team_account_keeping_its_tasks(as_admin, team_account, owner, simulator_url):
    task = GenerationTask.objects.create(owner=owner, upstream_account=team_account, state="done")
    account_create(email="new-team@example.com", password="new-pass-123")

    as_admin.post(PAGE, {"email": "new-team@example.com", "password": "new-pass-123"})

    account = UpstreamAccount.objects.get(is_team=True)
    assert account.pk == team_account.pk and account.email == "new-team@example.com"
    assert account.password == "new-pass-123"
    task.refresh_from_db()
    assert task.upstream_account_id == account.pk
    assert AuditEvent.objects.get(action=AuditEvent.Action.ACCOUNT_REPLACED).details == {"team": True}


@pytest.mark.django_db
def test_it_removes_the_team_account_and_tasks_keep_their_history(as_admin, admin_user, team_account, owner):
    task = GenerationTask.objects.create(owner=owner, upstream_account=team_account, state="done", prompt="a fox")

    response = as_admin.post(REMOVE, follow=True)

    assert response.status_code == 200
    assert not UpstreamAccount.objects.filter(is_team=True).exists()
    task.refresh_from_db()
    assert task.prompt == "a fox" and task.upstream_account is None
    event = AuditEvent.objects.get(action=AuditEvent.Action.ACCOUNT_REMOVED)
    assert event.actor == admin_user and event.details == {"team": True}
    assert "team@example.com" in event.target_repr


@pytest.mark.django_db
def test_removing_no_team_account_changes_nothing(as_admin):
    assert as_admin.post(REMOVE).status_code == 302
    assert not team_events().exists()


# --- Who may use it ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_list_offers_active_members_only(as_admin, owner, teammate, viewer, admin_user, django_user_model):
    gone = django_user_model.objects.create_user("gone", "gone@example.com", "x", is_active=False)
    deactivated = django_user_model.objects.create_user("left", "left@example.com", "x")
    Membership.objects.create(user=deactivated, deactivated_at="2026-01-01T00:00:00Z")

    response = as_admin.get(PAGE)

    offered = {user.username for user in response.context["candidates"]}
    assert offered == {"owner", "teammate"}
    assert gone.username not in offered and viewer.username not in offered and admin_user.username not in offered


@pytest.mark.django_db
def test_it_chooses_members_creating_their_membership_and_records_the_change(as_admin, owner, teammate, team_account):
    assert not Membership.objects.filter(user=owner).exists()

    response = as_admin.post(SHARING, {"members": [owner.pk]}, follow=True)

    assert response.status_code == 200
    assert Membership.objects.get(user=owner).uses_team_account
    assert Membership.objects.get(user=owner).role == Role.MEMBER
    assert account_for_user(owner) == team_account
    assert account_for_user(teammate) is None
    event = AuditEvent.objects.get(action=AuditEvent.Action.TEAM_ACCOUNT_SHARING_CHANGED)
    assert event.details["added"] == ["owner"] and event.details["removed"] == []
    assert "may now use the team account" in response.content.decode()


@pytest.mark.django_db
def test_unticking_a_member_takes_the_right_away_and_records_who(as_admin, owner, teammate, team_account):
    shared_with(owner, teammate)

    as_admin.post(SHARING, {"members": [teammate.pk]})

    assert account_for_user(fresh(owner)) is None and account_for_user(fresh(teammate)) == team_account
    event = AuditEvent.objects.get(action=AuditEvent.Action.TEAM_ACCOUNT_SHARING_CHANGED)
    assert event.details["added"] == [] and event.details["removed"] == ["owner"]


@pytest.mark.django_db
def test_saving_the_same_choice_records_nothing(as_admin, owner, team_account):
    shared_with(owner)
    as_admin.post(SHARING, {"members": [owner.pk]})
    assert not team_events().exists()


@pytest.mark.django_db
@pytest.mark.parametrize("bad", ["word", "0", "-3", "99999999999999999999999", "1.5"])
def test_a_bad_member_id_is_an_error_beside_the_list_never_a_500(as_admin, owner, bad):
    response = as_admin.post(SHARING, {"members": [bad]})
    assert response.status_code == 400
    assert response.context["sharing"].errors["members"]
    assert not team_events().exists()


@pytest.mark.django_db
def test_a_viewer_cannot_be_chosen(as_admin, viewer, team_account):
    response = as_admin.post(SHARING, {"members": [viewer.pk]})
    assert response.status_code == 400
    assert not Membership.objects.get(user=viewer).uses_team_account
    assert account_for_user(viewer) is None


@pytest.mark.django_db
def test_unticked_members_queued_tasks_fail_plainly_at_once(as_admin, owner, team_account, engine_held):
    shared_with(owner)
    task = generation.generation_submit(user=owner, params={"prompt": "a fox"}, idempotency_key=uuid.uuid4())
    assert task.upstream_account == team_account

    as_admin.post(SHARING, {"members": []})

    task.refresh_from_db()
    assert task.state == GenerationTask.State.FAILED
    assert task.error_message == TEAM_ACCOUNT_REFUSED
    assert "connect your own" in task.error_message
    assert AuditEvent.objects.get(action=AuditEvent.Action.TEAM_ACCOUNT_SHARING_CHANGED).details["tasks_failed"] == 1


# --- What members see ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_member_on_the_team_account_is_told_so_without_its_email(client, owner, team_account):
    shared_with(owner)
    client.force_login(owner)

    page = client.get(reverse("upstream_settings")).content.decode()

    assert "Your work goes through the team's Miaohua account, connected by an admin" in page
    assert team_account.email not in page and "team-pass" not in page


@pytest.mark.django_db
def test_a_member_with_an_account_of_their_own_uses_their_own(client, owner, team_account):
    shared_with(owner)
    own = upstream_account_store(user=owner, email="mine@example.com", password="mine")
    client.force_login(owner)

    assert account_for_user(owner) == own
    page = client.get(reverse("upstream_settings")).content.decode()
    assert "mine@example.com" in page and "goes through the team" not in page


@pytest.mark.django_db
def test_a_member_with_neither_is_told_to_connect_one_or_ask_an_admin(client, teammate, team_account):
    client.force_login(teammate)

    page = client.get(reverse("upstream_settings")).content.decode()
    assert "Connect your own below, or ask an admin to let you use the team" in page
    generate = client.get(reverse("generate"))
    assert generate.status_code == 302 and reverse("upstream_settings") in generate["Location"]


@pytest.mark.django_db
def test_a_member_chosen_may_open_the_generate_page_without_seeing_the_credentials(client, owner, team_account):
    shared_with(owner)
    client.force_login(owner)

    response = client.get(reverse("generate"))

    assert response.status_code == 200
    assert team_account.email.encode() not in response.content
    assert b"team-pass" not in response.content


@pytest.mark.django_db
def test_no_page_a_member_can_open_shows_the_team_credentials(client, owner, team_account):
    shared_with(owner)
    task = generation.generation_submit(user=owner, params={"prompt": "a fox"}, idempotency_key=uuid.uuid4())
    client.force_login(owner)
    for url in [
        reverse("upstream_settings"),
        reverse("generate"),
        reverse("history"),
        reverse("task_card", args=[task.pk]),
        reverse("task_detail", args=[task.pk]),
        reverse("queue_badge"),
    ]:
        response = client.get(url)
        assert response.status_code in (200, 286), url
        assert team_account.email.encode() not in response.content, url
        assert b"team-pass" not in response.content, url
        assert team_account.password_encrypted.encode() not in response.content, url


@pytest.mark.django_db
def test_admins_see_the_team_account_email_and_a_link_to_it(as_admin, team_account):
    assert team_account.email in as_admin.get(PAGE).content.decode()
    assert PAGE in as_admin.get(reverse("upstream_settings")).content.decode()


@pytest.mark.django_db
def test_members_get_no_link_to_the_team_account_page(client, owner):
    client.force_login(owner)
    assert PAGE not in client.get(reverse("upstream_settings")).content.decode()
