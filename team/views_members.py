"""The admins' members pages: everyone and the waiting invitations, invite, roles, deactivate / reactivate, reset
links; and the public page where an invitee joins."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from miaohua_site.accounts.decorators import staff_required
from team import selectors_members as selectors
from team.forms import DeactivateForm, InviteForm, JoinForm, RoleForm
from team.models import Role
from team.services import members


def _page(request, *, invite_form=None, sent=None, row_errors=None, status=200):
    rows = selectors.member_rows()
    for row in rows:
        row.error = (row_errors or {}).get(row.user.pk)
    invitations = list(selectors.pending_invitations())
    for invitation in invitations:
        invitation.link = members.invitation_link(invitation, request)
    context = {
        "rows": rows,
        "invitations": invitations,
        "invite_form": invite_form or InviteForm(),
        "roles": Role.choices,
        "sent": sent,
        "now": timezone.now(),
        "invitation_days": settings.TEAM_INVITATION_DAYS,
    }
    return TemplateResponse(request, "team/members.html", context, status=status)


@staff_required
@require_GET
def index(request):
    return _page(request)


@staff_required
@require_POST
def invite(request):
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            invitation, sent = members.invitation_create(
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                uses_team_account=form.cleaned_data["uses_team_account"],
                invited_by=request.user,
                request=request,
            )
        except members.MemberError as exc:
            form.add_error(exc.field, str(exc))
        else:
            # The link is shown this once (only its hash is kept): no redirect, the page carries it.
            return _page(request, sent={"kind": "invitation", "to": invitation.email, **vars(sent)})
    return _page(request, invite_form=form, status=400)


@staff_required
@require_POST
def invitation_revoke(request, pk):
    invitation = selectors.invitation_or_404(pk)
    if members.invitation_revoke(invitation=invitation):
        messages.success(
            request,
            gettext("The invitation for %(email)s was revoked; its link no longer works.")
            % {"email": invitation.email},
        )
    else:
        messages.info(
            request, gettext("The invitation for %(email)s was already used or revoked.") % {"email": invitation.email}
        )
    return redirect("team_members")


@staff_required
@require_POST
def member_role(request, pk):
    member = selectors.member_or_404(pk)
    form = RoleForm(request.POST)
    if form.is_valid():
        try:
            changed = members.role_change(member=member, role=form.cleaned_data["role"])
        except members.MemberError as exc:
            form.add_error("role", str(exc))
        else:
            if changed:
                role = str(Role(form.cleaned_data["role"]).label).lower()
                messages.success(
                    request, gettext("%(name)s is now %(role)s.") % {"name": member.get_username(), "role": role}
                )
            return redirect("team_members")
    return _page(request, row_errors={member.pk: form.errors.get("role")}, status=400)


@staff_required
@require_http_methods(["GET", "POST"])
def member_deactivate(request, pk):
    member = selectors.member_or_404(pk)
    form = DeactivateForm(request.POST or None, member=member, by=request.user)
    refused = None
    if member.pk == request.user.pk:
        refused = gettext("You cannot deactivate yourself: ask another admin.")
    elif not member.is_active:
        refused = gettext("%(name)s is already deactivated.") % {"name": member.get_username()}
    if request.method == "POST" and refused is None and form.is_valid():
        try:
            counts = members.member_deactivate(member=member, receiver=form.cleaned_data["receiver"], by=request.user)
        except members.MemberError as exc:
            form.add_error(exc.field, str(exc))
        else:
            receiver = form.cleaned_data["receiver"].get_username()
            messages.success(
                request,
                gettext(
                    "%(name)s is deactivated and signed out. %(collections)s collection(s) and %(datasets)s "
                    "dataset(s) went to %(receiver)s; %(tasks)s queued task(s) were not sent."
                )
                % {"name": member.get_username(), "receiver": receiver, **counts},
            )
            return redirect("team_members")
    status = 400 if request.method == "POST" else 200
    context = {"member": member, "form": form, "refused": refused}
    return TemplateResponse(request, "team/members_deactivate.html", context, status=status)


@staff_required
@require_POST
def member_reactivate(request, pk):
    member = selectors.member_or_404(pk)
    if members.member_reactivate(member=member):
        messages.success(
            request, gettext("%(name)s is active again and can sign in.") % {"name": member.get_username()}
        )
    return redirect("team_members")


@staff_required
@require_POST
def member_unlock(request, pk):
    member = selectors.member_or_404(pk)
    if members.member_unlock(member=member):
        messages.success(request, gettext("%(name)s can sign in again.") % {"name": member.get_username()})
    else:
        messages.info(request, gettext("Sign-in was not paused for %(name)s.") % {"name": member.get_username()})
    return redirect("team_members")


@staff_required
@require_POST
def member_password_reset(request, pk):
    member = selectors.member_or_404(pk)
    try:
        sent = members.password_reset_link_send(member=member, by=request.user, request=request)
    except members.MemberError as exc:
        messages.error(request, str(exc))
        return redirect("team_members")
    return _page(request, sent={"kind": "reset", "to": member.get_username(), **vars(sent)})


@sensitive_post_parameters("password1", "password2")
@require_http_methods(["GET", "POST"])
def join(request, token):
    """Public: the link's invitee chooses a user name and password, and is signed in."""
    try:
        invitation = members.invitation_for_token(token)
    except members.InvitationUnusable as exc:
        return TemplateResponse(request, "team/members_join.html", {"unusable": str(exc)}, status=410)
    form = JoinForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and form.is_valid():
        try:
            user = members.invitation_accept(
                token=token, username=form.cleaned_data["username"], password=form.cleaned_data["password1"]
            )
        except members.InvitationUnusable as exc:
            return TemplateResponse(request, "team/members_join.html", {"unusable": str(exc)}, status=410)
        except members.MemberError as exc:
            form.add_error(exc.field, str(exc))
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, gettext("Welcome to the team, %(name)s.") % {"name": user.get_username()})
            return redirect(reverse("home"))
    status = 400 if request.method == "POST" else 200
    return TemplateResponse(request, "team/members_join.html", {"form": form, "invitation": invitation}, status=status)
