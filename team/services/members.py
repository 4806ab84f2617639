"""Running the team: invitations, roles, deactivation and hand-over, reset-password links, new members.

Every action writes its audit event inside its own ``transaction.atomic()``. ``is_staff`` stays the one test of
"admin": the role services keep it in step with ``Membership.role``."""

from dataclasses import dataclass
from datetime import UTC, timedelta
from importlib import import_module

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.contrib.sessions.models import Session
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext, gettext_noop

from generation.models import GenerationTask
from library.models import Collection
from miaohua_site.accounts.language import language_of
from miaohua_site.accounts.mail import MailNotSent, mail_connection, send_templated
from miaohua_site.audit import services as audit
from miaohua_site.audit.models import AuditEvent
from miaohua_site.i18n import english, stored
from team.models import Invitation, Membership, Role, invitation_token_hash
from team.roles import role_of
from training.models import Dataset, TrainingJob

User = get_user_model()


class MemberError(Exception):
    """An action refused, with the message for the control it came from (``field``)."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


class InvitationUnusable(Exception):
    """The link was used, revoked, has expired, or never existed; the message says which."""


@dataclass
class Sent:
    """A link made for a person: shown once to the admin, and emailed unless the mail server failed."""

    url: str
    emailed: bool
    mail_error: str = ""


def _absolute(request, path: str) -> str:
    return request.build_absolute_uri(path) if request is not None else path


def _send(
    *, subject_template: str, body_template: str, context: dict, to_email: str, language: str | None = None
) -> tuple[bool, str]:
    """``language``: the recipient's; None = the page's (an invitation goes out in the inviting admin's)."""
    try:
        with mail_connection() as connection:
            send_templated(
                connection=connection,
                subject_template=subject_template,
                body_template=body_template,
                context=context,
                to_email=to_email,
                language=language,
            )
    except MailNotSent as exc:
        return False, str(exc) or gettext("the mail server did not take it")
    return True, ""


def _membership(user) -> Membership:
    return Membership.objects.get_or_create(user=user, defaults={"role": role_of(user)})[0]


def _active_admins(*, lock: bool = False):
    admins = User.objects.filter(is_staff=True, is_active=True)
    # Two admins demoting or deactivating each other at once: the second waits for the first (PostgreSQL row
    # locks; SQLite's IMMEDIATE transactions run one at a time anyway).
    return admins.select_for_update() if lock else admins


def _refuse_last_admin(member, *, field: str, message: str) -> None:
    others = [user.pk for user in _active_admins(lock=True) if user.pk != member.pk]
    if member.is_staff and member.is_active and not others:
        raise MemberError(message % {"name": member.get_username()}, field=field)


# --- Invitations ---------------------------------------------------------------------------------------------


def invitation_token(*, email: str, created_at) -> str:
    """The link's secret: derived from the invitation and SECRET_KEY (only its hash is stored), so an admin can
    copy a waiting invitation's link again, and a copy of the database alone opens nothing."""
    moment = created_at.astimezone(UTC).strftime("%Y%m%d%H%M%S%f")
    return salted_hmac("team.invitation", f"{email}|{moment}", algorithm="sha256").hexdigest()


def invitation_link(invitation: Invitation, request=None) -> str | None:
    """A waiting invitation's link again; None when it cannot be made (SECRET_KEY changed since)."""
    token = invitation_token(email=invitation.email, created_at=invitation.created_at)
    if invitation_token_hash(token) != invitation.token_hash:
        return None
    return _absolute(request, reverse("team_join", args=[token]))


def email_taken_reason(email: str) -> str | None:
    """Why this address cannot be invited (a user has it, or an invitation for it still works), or None."""
    if User.objects.filter(email__iexact=email).exists():
        return gettext("Someone in the team already has this email.")
    if Invitation.objects.filter(
        email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).exists():
        return gettext("This email already has an invitation that still works: revoke it first to send a new one.")
    return None


def invitation_create(*, email: str, role: str, uses_team_account: bool, invited_by, request=None):
    """A one-time link to join (only its hash is kept), emailed through the configured backend.

    Returns ``(invitation, Sent)``: the link is in ``Sent.url`` to show once. Raises MemberError(field="email")
    for an address that is taken."""
    email = User.objects.normalize_email(email.strip())
    created_at = timezone.now()
    token = invitation_token(email=email, created_at=created_at)
    with transaction.atomic():
        reason = email_taken_reason(email)
        if reason:
            raise MemberError(reason, field="email")
        invitation = Invitation.objects.create(
            email=email,
            role=role,
            uses_team_account=uses_team_account and role == Role.MEMBER,
            token_hash=invitation_token_hash(token),
            invited_by=invited_by,
            created_at=created_at,
            expires_at=created_at + timedelta(days=settings.TEAM_INVITATION_DAYS),
        )
        audit.record(
            AuditEvent.Action.INVITATION_SENT,
            target=invitation,
            email=email,
            role=role,
            uses_team_account=invitation.uses_team_account,
        )
    url = _absolute(request, reverse("team_join", args=[token]))
    context = {
        "invitation": invitation,
        "url": url,
        "invited_by": invited_by.get_username() if invited_by else "",
        "days": settings.TEAM_INVITATION_DAYS,
    }
    emailed, error = _send(
        subject_template="team/invitation_subject.txt",
        body_template="team/invitation_email.txt",
        context=context,
        to_email=email,
    )
    return invitation, Sent(url=url, emailed=emailed, mail_error=error)


def invitation_revoke(*, invitation: Invitation) -> bool:
    """Revoke a link that still works (True); a used or revoked one stays as it is (False)."""
    with transaction.atomic():
        revoked = Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if revoked:
            audit.record(AuditEvent.Action.INVITATION_REVOKED, target=invitation, email=invitation.email)
    return bool(revoked)


def invitation_for_token(token: str) -> Invitation:
    """The invitation a link names, if it still works; else InvitationUnusable saying why, plainly."""
    invitation = Invitation.objects.filter(token_hash=invitation_token_hash(token or "")).first()
    if invitation is None:
        raise InvitationUnusable(gettext("This invitation link is not valid. Ask an admin of the team for a new one."))
    if invitation.accepted_at is not None:
        raise InvitationUnusable(
            gettext("This invitation link was already used. Sign in, or ask an admin of the team for a new one.")
        )
    if invitation.revoked_at is not None:
        raise InvitationUnusable(
            gettext("This invitation was withdrawn by an admin. Ask them for a new one if you need it.")
        )
    if invitation.expires_at <= timezone.now():
        raise InvitationUnusable(gettext("This invitation link has expired. Ask an admin of the team for a new one."))
    return invitation


class UsernameTaken(MemberError):
    def __init__(self):
        super().__init__(gettext("This user name is taken: choose another."), field="username")


def member_create(
    *, username: str, email: str, password: str | None, role: str, uses_team_account: bool = False, actor=None
):
    """A new person in the team with a Membership of ``role`` (``is_staff`` for an admin). Audit MEMBER_CREATED
    (with ``actor``; None from a command). Raises UsernameTaken."""
    with transaction.atomic():
        if User.objects.filter(username__iexact=username).exists():
            raise UsernameTaken()
        try:
            with transaction.atomic():
                user = User.objects.create_user(username, email=email, password=password, is_staff=role == Role.ADMIN)
        except IntegrityError:
            raise UsernameTaken() from None
        Membership.objects.create(user=user, role=role, uses_team_account=uses_team_account and role == Role.MEMBER)
        audit.record(AuditEvent.Action.MEMBER_CREATED, actor=actor, target=user, role=role, email=email)
    return user


def invitation_accept(*, token: str, username: str, password: str):
    """Join with the link: the user (with the invitation's email and role), marked accepted race-safely — of two
    tabs posting at once, one wins and the other is told the link was used. Raises InvitationUnusable,
    UsernameTaken or MemberError."""
    invitation = invitation_for_token(token)
    now = timezone.now()
    with transaction.atomic():
        # The one conditional UPDATE that decides: only a link not yet used, revoked or expired moves.
        taken = Invitation.objects.filter(
            pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
        ).update(accepted_at=now)
        if not taken:
            invitation_for_token(token)  # says why (used meanwhile, revoked, expired)
            raise InvitationUnusable(gettext("This invitation link was already used."))
        if User.objects.filter(email__iexact=invitation.email).exists():
            raise MemberError(gettext("Someone in the team already has this invitation's email: sign in instead."))
        if User.objects.filter(username__iexact=username).exists():
            raise UsernameTaken()
        try:
            with transaction.atomic():
                user = User.objects.create_user(
                    username, email=invitation.email, password=password, is_staff=invitation.role == Role.ADMIN
                )
        except IntegrityError:
            raise UsernameTaken() from None
        Membership.objects.create(user=user, role=invitation.role, uses_team_account=invitation.uses_team_account)
        Invitation.objects.filter(pk=invitation.pk).update(accepted_user=user)
        audit.record(
            AuditEvent.Action.INVITATION_ACCEPTED, actor=user, target=invitation, user=username, role=invitation.role
        )
    return user


# --- Roles ---------------------------------------------------------------------------------------------------


def role_change(*, member, role: str) -> bool:
    """Set ``member``'s role; an admin is ``is_staff`` and a demoted one loses ``is_superuser`` too. The last
    active admin stays one (MemberError beside the role control). False when nothing changed."""
    if role not in Role.values:
        raise MemberError(gettext("Choose member, admin or viewer."), field="role")
    with transaction.atomic():
        member = User.objects.select_for_update().get(pk=member.pk)
        old = role_of(member)
        if old == role:
            return False
        if old == Role.ADMIN:
            _refuse_last_admin(
                member,
                field="role",
                message=gettext(
                    "%(name)s is the last active admin: make someone else an admin before changing this role."
                ),
            )
        membership = _membership(member)
        membership.role = role
        if role == Role.VIEWER:
            membership.uses_team_account = False  # a viewer sends nothing to Miaohua
        membership.save(update_fields=["role", "uses_team_account"])
        member.is_staff = role == Role.ADMIN
        if role != Role.ADMIN:
            member.is_superuser = False
        member.save(update_fields=["is_staff", "is_superuser"])
        audit.record(AuditEvent.Action.ROLE_CHANGED, target=member, old=old, new=role)
    return True


# --- Deactivation --------------------------------------------------------------------------------------------


def receivers_for(member):
    """Who may receive a leaving member's collections and datasets: the other active members and admins."""
    viewers = Membership.objects.filter(role=Role.VIEWER).values("user_id")
    return (
        User.objects.filter(is_active=True)
        .exclude(pk=member.pk)
        .exclude(pk__in=viewers, is_staff=False)
        .order_by("username")
    )


def _end_sessions(user) -> int:
    """Delete every session signed in as ``user`` (from the session cache too, through the configured store)."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        try:
            signed_in = session.get_decoded().get("_auth_user_id")
        except Exception:  # an unreadable session signs nobody in
            continue
        if signed_in == str(user.pk):
            store(session_key=session.session_key).delete()
            ended += 1
    return ended


def _handed_over_name(name: str, receiver, leaving) -> str:
    taken = set(Collection.objects.filter(owner=receiver).values_list("name", flat=True))
    if name not in taken:
        return name
    base = f"{name} (from {leaving.get_username()})"[:96]
    candidate, n = base[:100], 2
    while candidate in taken:
        candidate, n = f"{base} {n}", n + 1
    return candidate


# Stored in the failed tasks' and trainings' error_message in English, shown translated (miaohua_site/i18n.py).
NOT_SENT = stored(gettext_noop("Not sent: {name} was deactivated before this went to Miaohua."))


def member_deactivate(*, member, receiver, by) -> dict:
    """``member`` can no longer sign in and is signed out at once; their collections and datasets go to
    ``receiver``; their work not yet sent to Miaohua fails with a plain reason; their history stays.
    Returns the counts. Raises MemberError (field "receiver" or None)."""
    if member.pk == by.pk:
        raise MemberError(gettext("You cannot deactivate yourself: ask another admin."))
    if receiver is None or receiver.pk == member.pk or not receivers_for(member).filter(pk=receiver.pk).exists():
        raise MemberError(gettext("Choose an active member to receive the collections and datasets."), field="receiver")
    now = timezone.now()
    with transaction.atomic():
        member = User.objects.select_for_update().get(pk=member.pk)
        if not member.is_active:
            raise MemberError(gettext("%(name)s is already deactivated.") % {"name": member.get_username()})
        if member.is_staff:
            _refuse_last_admin(
                member,
                field=None,
                message=gettext(
                    "%(name)s is the last active admin: make someone else an admin before deactivating them."
                ),
            )
        member.is_active = False
        member.save(update_fields=["is_active"])
        membership = _membership(member)
        membership.deactivated_at, membership.deactivated_by = now, by
        membership.save(update_fields=["deactivated_at", "deactivated_by"])
        collections = 0
        for collection in Collection.objects.filter(owner=member).order_by("pk"):
            collection.name = _handed_over_name(collection.name, receiver, member)
            collection.owner = receiver
            collection.save(update_fields=["name", "owner"])
            collections += 1
        datasets = Dataset.objects.filter(created_by=member).update(created_by=receiver)
        reason = english(NOT_SENT, name=member.get_username())
        tasks = GenerationTask.objects.filter(owner=member, state=GenerationTask.State.QUEUED).update(
            state=GenerationTask.State.FAILED, error_message=reason, finished_at=now
        )
        trainings = TrainingJob.objects.filter(owner=member, state=TrainingJob.State.QUEUED).update(
            state=TrainingJob.State.FAILED, error_message=reason, finished_at=now
        )
        sessions = _end_sessions(member)
        audit.record(
            AuditEvent.Action.MEMBER_DEACTIVATED,
            target=member,
            tasks_failed=tasks,
            trainings_failed=trainings,
            sessions_ended=sessions,
        )
        audit.record(
            AuditEvent.Action.ITEMS_HANDED_OVER,
            target=member,
            to=receiver.get_username(),
            to_id=receiver.pk,
            collections=collections,
            datasets=datasets,
        )
    return {"collections": collections, "datasets": datasets, "tasks": tasks, "trainings": trainings}


def member_reactivate(*, member) -> bool:
    with transaction.atomic():
        changed = User.objects.filter(pk=member.pk, is_active=False).update(is_active=True)
        if changed:
            Membership.objects.filter(user=member).update(deactivated_at=None, deactivated_by=None)
            audit.record(AuditEvent.Action.MEMBER_REACTIVATED, target=member)
    return bool(changed)


def member_unlock(*, member) -> int:
    """Lift the sign-in pause django-axes put on this user name (every address); audited. The attempts removed."""
    from axes.models import AccessAttempt

    with transaction.atomic():
        removed, _ = AccessAttempt.objects.filter(username=member.get_username()).delete()
        if removed:
            audit.record(AuditEvent.Action.SIGN_IN_UNLOCKED, target=member, attempts=removed)
    return removed


# --- Password reset links ------------------------------------------------------------------------------------


def password_reset_link_send(*, member, by, request=None) -> Sent:
    """Django's reset link (default_token_generator; works once, until the password changes), emailed with the
    product's reset email and returned to show the admin."""
    if not member.is_active:
        raise MemberError(gettext("%(name)s is deactivated: reactivate them first.") % {"name": member.get_username()})
    uid = urlsafe_base64_encode(force_bytes(member.pk))
    token = default_token_generator.make_token(member)
    url = _absolute(request, reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": token}))
    with transaction.atomic():
        audit.record(AuditEvent.Action.PASSWORD_RESET_LINK_SENT, target=member, email=member.email)
    if not member.email:
        return Sent(url=url, emailed=False, mail_error=gettext("they have no email address"))
    host = request.get_host() if request is not None else "localhost"
    context = {
        "email": member.email,
        "domain": host,
        "site_name": host,
        "uid": uid,
        "user": member,
        "token": token,
        "protocol": "https" if request is not None and request.is_secure() else "http",
        "sent_by": by.get_username(),
    }
    emailed, error = _send(
        subject_template="registration/password_reset_subject.txt",
        body_template="registration/password_reset_email.html",
        context=context,
        to_email=member.email,
        language=language_of(member),
    )
    return Sent(url=url, emailed=emailed, mail_error=error)
