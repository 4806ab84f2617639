import logging

from django import forms
from django.contrib.auth import forms as auth_forms
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template import loader

from miaohua_site.forms import StudioForm, StudioFormMixin

logger = logging.getLogger(__name__)


class ConnectForm(StudioForm):
    email = forms.EmailField(
        label="Miaohua email",
        widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True}),
        help_text="The email you registered at Miaohua with.",
    )
    # Never rendered back into the page, not even after an error.
    password = forms.CharField(
        label="Miaohua password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}, render_value=False),
    )


class MailNotSent(Exception):
    """The mail server did not take the password-reset email."""


class PasswordChangeForm(StudioFormMixin, auth_forms.PasswordChangeForm):
    pass


class SetPasswordForm(StudioFormMixin, auth_forms.SetPasswordForm):
    pass


class PasswordResetForm(StudioFormMixin, auth_forms.PasswordResetForm):
    _connection = None

    def save(self, *args, **kwargs):
        """The mail server is reached before anything else, whether or not the address belongs to anyone (so the
        answer never tells a visitor which addresses have an account); the emails then go over that connection."""
        self._connection = get_connection(fail_silently=False)
        try:
            self._connection.open()
        except Exception as exc:
            logger.warning("The mail server could not be reached for a password reset: %s", exc)
            raise MailNotSent(str(exc)) from exc
        try:
            return super().save(*args, **kwargs)
        finally:
            try:
                self._connection.close()
            except Exception:
                pass

    def send_mail(
        self, subject_template_name, email_template_name, context, from_email, to_email, html_email_template_name=None
    ):
        """Django's, except that a failure is raised (Django logs it and lets the page report success)."""
        subject = "".join(loader.render_to_string(subject_template_name, context).splitlines())
        body = loader.render_to_string(email_template_name, context)
        message = EmailMultiAlternatives(subject, body, from_email, [to_email], connection=self._connection)
        if html_email_template_name is not None:
            message.attach_alternative(loader.render_to_string(html_email_template_name, context), "text/html")
        try:
            message.send()
        except Exception as exc:
            logger.exception("The password reset email to user %s could not be sent", context["user"].pk)
            raise MailNotSent(str(exc)) from exc
