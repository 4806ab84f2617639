from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.db import transaction
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from miaohua_site.accounts import selectors, services
from miaohua_site.accounts.decorators import member_required, staff_required
from miaohua_site.accounts.forms import (
    ConnectForm,
    MailNotSent,
    PasswordChangeForm,
    PasswordResetForm,
    SetPasswordForm,
    TeamSharingForm,
)
from miaohua_site.accounts.models import UpstreamAccount
from miaohua_site.audit import services as audit
from miaohua_site.audit.models import AuditEvent
from miaohua_site.audit.services import Target
from miaohua_site.params import safe_next
from miaohua_site.upstream.errors import LoginFailed, UpstreamError, UpstreamUnavailable


def _connected(form: ConnectForm, *, user=None, team: bool = False) -> bool:
    """Verify the form's credentials with Miaohua and store them (the user's own account, or the team's); a
    refusal is written beside its field. The one connect path of both pages."""
    try:
        services.upstream_account_connect(
            user=user, team=team, email=form.cleaned_data["email"], password=form.cleaned_data["password"]
        )
    except LoginFailed as exc:
        message = _("Miaohua did not accept this email and password: %(reason)s")
        form.add_error("password", message % {"reason": exc.user_message})
    except UpstreamUnavailable as exc:
        message = _("Miaohua could not be reached to check these credentials. %(reason)s")
        form.add_error(None, message % {"reason": exc.user_message})
    except UpstreamError as exc:
        form.add_error(None, _("Miaohua refused the check: %(reason)s") % {"reason": exc.user_message})
    else:
        return True
    return False


@sensitive_post_parameters("password")
@member_required
@require_http_methods(["GET", "POST"])
def upstream_settings(request):
    account = UpstreamAccount.objects.filter(user=request.user).first()
    replacing = request.GET.get("replace") == "1" or request.method == "POST"
    form = ConnectForm(request.POST or None, initial={"email": account.email if account else ""})
    if request.method == "POST" and form.is_valid() and _connected(form, user=request.user):
        messages.success(request, _("Connected to Miaohua as %(email)s.") % {"email": form.cleaned_data["email"]})
        return redirect(safe_next(request) or reverse("upstream_settings"))
    context = {
        "account": account,
        "form": form,
        "show_form": account is None or replacing,
        "next": safe_next(request),
        "through_team": account is None and services.account_for_user(request.user) is not None,
        "team_connected": services.team_account() is not None,
    }
    return TemplateResponse(request, "accounts/upstream_settings.html", context)


@member_required
@require_POST
def upstream_disconnect(request):
    services.upstream_account_disconnect(user=request.user)
    messages.success(request, _("Disconnected. Your Miaohua password and token were deleted from the dashboard."))
    return redirect("upstream_settings")


def _team_account_page(request, *, form=None, sharing=None, status=200):
    account = services.team_account()
    replacing = form is not None or request.GET.get("replace") == "1"
    candidates = selectors.team_account_candidates()
    if sharing is None:
        sharing = TeamSharingForm(candidates=candidates, initial={"members": [u for u in candidates if u.uses_team]})
    context = {
        "account": account,
        "form": form or ConnectForm(initial={"email": account.email if account else ""}),
        "show_form": account is None or replacing,
        "sharing": sharing,
        "candidates": candidates,
    }
    return TemplateResponse(request, "accounts/team_account.html", context, status=status)


@sensitive_post_parameters("password")
@staff_required
@require_http_methods(["GET", "POST"])
def team_account_settings(request):
    """The team's Miaohua account (admins): connect or replace it, verified with Miaohua at once."""
    if request.method == "GET":
        return _team_account_page(request)
    form = ConnectForm(request.POST)
    if form.is_valid() and _connected(form, team=True):
        message = _("The team's Miaohua account is connected as %(email)s.")
        messages.success(request, message % {"email": form.cleaned_data["email"]})
        return redirect("team_account_settings")
    return _team_account_page(request, form=form, status=400 if form.errors else 200)


@staff_required
@require_POST
def team_account_remove(request):
    services.upstream_account_disconnect(team=True)
    messages.success(
        request,
        _(
            "The team's Miaohua account was removed: its password and token were deleted from the dashboard. "
            "Tasks sent with it keep their history."
        ),
    )
    return redirect("team_account_settings")


@staff_required
@require_POST
def team_account_sharing(request):
    """Which members may use the team account."""
    candidates = selectors.team_account_candidates()
    sharing = TeamSharingForm(request.POST, candidates=candidates)
    if not sharing.is_valid():
        return _team_account_page(request, sharing=sharing, status=400)
    added, removed = services.team_account_sharing_set(users=sharing.cleaned_data["members"])
    if added or removed:
        messages.success(request, _sharing_message(added, removed))
    else:
        messages.info(request, _("Nothing changed."))
    return redirect("team_account_settings")


def _names(users) -> str:
    return pgettext("list separator", ", ").join(user.get_full_name() or user.get_username() for user in users)


def _sharing_message(added, removed) -> str:
    if added and removed:
        message = _(
            "%(added)s may now use the team account. "
            "%(removed)s may no longer use it; their tasks not yet sent will fail."
        )
        return message % {"added": _names(added), "removed": _names(removed)}
    if added:
        return _("%(names)s may now use the team account.") % {"names": _names(added)}
    return _("%(names)s may no longer use it; their tasks not yet sent will fail.") % {"names": _names(removed)}


class PasswordResetView(auth_views.PasswordResetView):
    """Django's, on the product's page, saying so when the email could not be sent (Django reports success)."""

    form_class = PasswordResetForm

    def form_valid(self, form):
        try:
            with transaction.atomic():
                response = super().form_valid(form)
                email = form.cleaned_data["email"]
                # The audit log is for admins: it may say how many accounts the address belongs to; the page never does.
                audit.record(
                    AuditEvent.Action.PASSWORD_RESET_REQUESTED,
                    target=Target("", "", email),
                    email=email,
                    accounts=sum(1 for _ in form.get_users(email)),
                )
                return response
        except MailNotSent:
            form.add_error(
                None,
                _(
                    "The email could not be sent: the mail server did not take it. "
                    "Try again in a few minutes, or ask an admin to set a new password for you."
                ),
            )
            return self.form_invalid(form)


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's, with the product's form; the change is in the audit log (never the password)."""

    form_class = PasswordChangeForm

    def form_valid(self, form):
        with transaction.atomic():
            response = super().form_valid(form)
            audit.record(AuditEvent.Action.PASSWORD_CHANGED, target=form.user)
        return response


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's, with the product's form; a password set from a reset link is in the audit log."""

    form_class = SetPasswordForm

    def form_valid(self, form):
        with transaction.atomic():
            response = super().form_valid(form)
            audit.record(AuditEvent.Action.PASSWORD_RESET_DONE, actor=form.user, target=form.user)
        return response


@require_POST
def set_language(request):
    """The language switch (user menu, sign-in page): remembered for the member, then back to the page."""
    from miaohua_site.accounts.language import choose_language, supported

    back = safe_next(request) or safe_next_from_referer(request) or reverse("home")
    code = supported(request.POST.get("language"))
    if code is None:
        messages.error(request, _("Choose English or 简体中文."))
        return redirect(back)
    choose_language(request, code)
    return redirect(back)


def safe_next_from_referer(request) -> str | None:
    from urllib.parse import urlsplit

    referer = urlsplit(request.headers.get("Referer", ""))
    if referer.netloc and referer.netloc == request.get_host() and referer.path.startswith("/"):
        return referer.path + (f"?{referer.query}" if referer.query else "")
    return None
