import logging

from django import forms
from django.contrib.auth import forms as auth_forms
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template import loader

from miaohua_site.forms import StudioForm, StudioFormMixin
from miaohua_site.params import parse_id

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


class MemberChoices(forms.ModelMultipleChoiceField):
    def _check_values(self, value):
        for raw in value:  # a word or an id beyond 64 bits is an error beside the field, never a database error
            if parse_id(str(raw)) is None:
                raise forms.ValidationError(
                    self.error_messages["invalid_choice"], code="invalid_choice", params={"value": _shown(raw)}
                )
        return super()._check_values(value)


def _shown(raw) -> str:
    text = str(raw)
    return text if len(text) <= 20 else text[:19] + "…"


class TeamSharingForm(StudioForm):
    """Which members may use the team's Miaohua account (the candidates: active members, no viewers)."""

    members = MemberChoices(
        label="Members who may use the team account",
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": "%(value)s is not an active member of the team; reload the page."},
        help_text="Admins always may. A member with a Miaohua account of their own keeps using their own.",
    )

    def __init__(self, *args, candidates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["members"].queryset = candidates
        self.fields["members"].label_from_instance = lambda user: user.get_full_name() or user.get_username()


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
