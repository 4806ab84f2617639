from django import forms
from django.contrib.auth import forms as auth_forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from miaohua_site.accounts.language import language_of
from miaohua_site.accounts.mail import MailNotSent, mail_connection, send_templated
from miaohua_site.forms import StudioForm, StudioFormMixin
from miaohua_site.params import parse_id

__all__ = [
    "ConnectForm",
    "MailNotSent",
    "PasswordChangeForm",
    "PasswordResetForm",
    "SetPasswordForm",
    "TeamSharingForm",
]

# Django 5.2's MinimumLengthValidator says this with "%d", its zh_Hans catalog still has the older "%(min_length)d"
# msgid (so the message came in English): ours carries the current msgid, translated in locale/parts/core.po.
PASSWORD_TOO_SHORT = ngettext_lazy(
    "This password is too short. It must contain at least %d character.",
    "This password is too short. It must contain at least %d characters.",
    "min_length",
)


class ConnectForm(StudioForm):
    email = forms.EmailField(
        label=_("Miaohua email"),
        widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True}),
        help_text=_("The email you registered at Miaohua with."),
    )
    # Never rendered back into the page, not even after an error.
    password = forms.CharField(
        label=_("Miaohua password"),
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
        label=_("Members who may use the team account"),
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": _("%(value)s is not an active member of the team; reload the page.")},
        help_text=_("Admins always may. A member with a Miaohua account of their own keeps using their own."),
    )

    def __init__(self, *args, candidates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["members"].queryset = candidates
        self.fields["members"].label_from_instance = lambda user: user.get_full_name() or user.get_username()


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
            language=language_of(context["user"]),
        )
