"""The team pages' forms: Bootstrap-styled (StudioForm), every error beside its field."""

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from miaohua_site.forms import StudioForm
from team.models import Role
from team.services import members

User = get_user_model()


class InviteForm(StudioForm):
    email = forms.EmailField(
        label=_("Email"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "off"})
    )  # the column's length (Django's form field allows 320)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.MEMBER)
    uses_team_account = forms.BooleanField(
        label=_("May use the team account"),
        required=False,
        help_text=_("When they have no Miaohua account of their own (members only; admins always may)."),
    )

    def clean_email(self):
        email = self.cleaned_data["email"].strip()
        reason = members.email_taken_reason(email)
        if reason:
            raise forms.ValidationError(reason)
        return email


class RoleForm(StudioForm):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class DeactivateForm(StudioForm):
    receiver = forms.ChoiceField(
        label=_("Who receives their collections and datasets"),
        help_text=_("Collections keep their names (a clash gets “(from …)” added); datasets stay on their account."),
    )

    def __init__(self, *args, member, by, **kwargs):
        super().__init__(*args, **kwargs)
        people = list(members.receivers_for(member))
        self.receivers = {str(person.pk): person for person in people}
        self.fields["receiver"].choices = [(str(person.pk), person.get_username()) for person in people]
        if not self.is_bound and str(by.pk) in self.receivers:
            self.initial["receiver"] = str(by.pk)

    def clean_receiver(self):
        return self.receivers[self.cleaned_data["receiver"]]


class JoinForm(StudioForm):
    """The invitee chooses a user name and a password (Django's validators); the email is the invitation's."""

    username = forms.CharField(
        label=_("User name"),
        max_length=150,
        validators=[UnicodeUsernameValidator()],
        help_text=_("Letters, digits and @ . + - _ only; you sign in with it."),
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean_username(self):
        username = User.normalize_username(self.cleaned_data["username"])
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(gettext("This user name is taken: choose another."))
        return username

    def clean(self):
        cleaned = super().clean()
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", gettext("The two passwords differ: type the same one twice."))
        elif first:
            candidate = User(username=cleaned.get("username") or "", email=self.email)
            try:
                password_validation.validate_password(first, candidate)
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned
