from django import forms
from django.contrib.auth import forms as auth_forms

from miaohua_site.accounts.mail import MailNotSent, mail_connection, send_templated
from miaohua_site.forms import StudioForm, StudioFormMixin

__all__ = ["ConnectForm", "MailNotSent", "PasswordChangeForm", "PasswordResetForm", "SetPasswordForm"]


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


class PasswordChangeForm(StudioFormMixin, auth_forms.PasswordChangeForm):
    pass


class SetPasswordForm(StudioFormMixin, auth_forms.SetPasswordForm):
    pass


class PasswordResetForm(StudioFormMixin, auth_forms.PasswordResetForm):
    _connection = None

    def save(self, *args, **kwargs):
        """The mail server is reached before anything else, whether or not the address belongs to anyone (so the
        answer never tells a visitor which addresses have an account); the emails then go over that connection."""
        with mail_connection() as self._connection:
            return super().save(*args, **kwargs)

    def send_mail(
        self, subject_template_name, email_template_name, context, from_email, to_email, html_email_template_name=None
    ):
        """Django's, except that a failure is raised (Django logs it and lets the page report success)."""
        send_templated(
            connection=self._connection,
            subject_template=subject_template_name,
            body_template=email_template_name,
            context=context,
            to_email=to_email,
            from_email=from_email,
            html_template=html_email_template_name,
        )
