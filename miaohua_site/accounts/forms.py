from django import forms

from miaohua_site.forms import StudioForm


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
