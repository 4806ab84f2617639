from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.db import transaction
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from miaohua_site.accounts import services
from miaohua_site.accounts.decorators import member_required
from miaohua_site.accounts.forms import ConnectForm, MailNotSent, PasswordChangeForm, PasswordResetForm, SetPasswordForm
from miaohua_site.accounts.models import UpstreamAccount
from miaohua_site.audit import services as audit
from miaohua_site.audit.models import AuditEvent
from miaohua_site.audit.services import Target
from miaohua_site.params import safe_next
from miaohua_site.upstream.errors import LoginFailed, UpstreamError, UpstreamUnavailable


@sensitive_post_parameters("password")
@member_required
@require_http_methods(["GET", "POST"])
def upstream_settings(request):
    account = UpstreamAccount.objects.filter(user=request.user).first()
    replacing = request.GET.get("replace") == "1" or request.method == "POST"
    form = ConnectForm(request.POST or None, initial={"email": account.email if account else ""})
    if request.method == "POST" and form.is_valid():
        try:
            services.upstream_account_connect(
                user=request.user, email=form.cleaned_data["email"], password=form.cleaned_data["password"]
            )
        except LoginFailed as exc:
            form.add_error("password", f"Miaohua did not accept this email and password: {exc.user_message}")
        except UpstreamUnavailable as exc:
            form.add_error(None, f"Miaohua could not be reached to check these credentials. {exc.user_message}")
        except UpstreamError as exc:
            form.add_error(None, f"Miaohua refused the check: {exc.user_message}")
        else:
            messages.success(request, f"Connected to Miaohua as {form.cleaned_data['email']}.")
            return redirect(safe_next(request) or reverse("upstream_settings"))
    context = {"account": account, "form": form, "show_form": account is None or replacing, "next": safe_next(request)}
    return TemplateResponse(request, "accounts/upstream_settings.html", context)


@member_required
@require_POST
def upstream_disconnect(request):
    services.upstream_account_disconnect(user=request.user)
    messages.success(request, "Disconnected. Your Miaohua password and token were deleted from the dashboard.")
    return redirect("upstream_settings")


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
                "The email could not be sent: the mail server did not take it. "
                "Try again in a few minutes, or ask an admin to set a new password for you.",
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
