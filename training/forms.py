"""The dataset form and the training form (choices from the vendor's get_train_form); rules are checked here on
the server and their messages shown beside the fields."""

import re
import uuid

from django import forms
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from miaohua_site.forms import StudioForm
from miaohua_site.i18n import shown
from miaohua_site.params import parse_id

# The vendor's own sample sends "choose automatically" in Chinese; say so for those who do not read it.
BASE_MODEL_LABELS = {"自动选择": _("自动选择 (automatic)")}
NAME_PATTERN = re.compile(r"^[\w][\w .\-()]*$")
TRIGGER_PATTERN = re.compile(r"^[^,，;；\n\r]+$")


class DatasetForm(StudioForm):
    name = forms.CharField(label=_("Name"), max_length=100, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What the images have in common (sent to Miaohua when the dataset is created there)."),
    )

    def __init__(self, *args, on_vendor: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if on_vendor:
            self.fields["name"].help_text = _(
                "Miaohua has no way to rename a dataset: this changes the name shown here; Miaohua keeps the first."
            )


class DatasetChoiceField(forms.ModelMultipleChoiceField):
    def _check_values(self, value):
        # Django's own check sends every value to an ``IN`` query: one beyond 64 bits overflows SQLite.
        for pk in value if isinstance(value, list | tuple) else []:
            if parse_id(str(pk)) is None:
                raise forms.ValidationError(gettext("Choose datasets from the list."), code="invalid_pk_value")
        return super()._check_values(value)

    def label_from_instance(self, dataset) -> str:
        count = getattr(dataset, "n_added", None)
        if count is None:
            return dataset.name
        return ngettext("%(name)s (%(count)s image)", "%(name)s (%(count)s images)", count) % {
            "name": dataset.name,
            "count": count,
        }


class TrainingForm(StudioForm):
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)
    name = forms.CharField(
        label=_("Name"),
        max_length=64,
        min_length=2,
        help_text=_("The trained LoRA gets this name at Miaohua: it must be new for the account."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    trigger_word = forms.CharField(
        label=_("Trigger word"),
        max_length=50,
        help_text=_("A word or short phrase (no commas) that calls up the LoRA in a prompt."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    # The choices are the vendor's own words (get_train_form), shown as they come.
    base_model = forms.ChoiceField(label=_("Base model"), widget=forms.Select(attrs={"translate": "no"}))
    main_body = forms.ChoiceField(
        label=_("Subject"),
        help_text=_("What the images show most (Miaohua's main_body)."),
        widget=forms.Select(attrs={"translate": "no"}),
    )
    datasets = DatasetChoiceField(
        label=_("Datasets"),
        queryset=None,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("One or more datasets that are at Miaohua, with their images added."),
    )
    description = forms.CharField(
        label=_("Description"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, train_form=None, datasets=None, taken_names=(), loading=False, **kwargs):
        """``loading``: get_train_form has not arrived yet; the two choices keep their value, and the form does
        not submit until it is here."""
        super().__init__(*args, **kwargs)
        self.loading = loading
        self.fields["base_model"].choices = [
            (name, BASE_MODEL_LABELS.get(name, name)) for name in (train_form.base_models if train_form else [])
        ]
        self.fields["main_body"].choices = [(name, name) for name in (train_form.main_bodies if train_form else [])]
        for name in ("base_model", "main_body"):
            value = self[name].value() if loading else None
            if value and isinstance(value, str):
                self.fields[name].choices = [*self.fields[name].choices, (value, value)]
        self.fields["datasets"].queryset = datasets
        self.taken_names = {name.strip().casefold() for name in taken_names}

    def clean(self):
        data = super().clean()
        if self.loading:
            self.add_error(
                "base_model",
                gettext(
                    "Miaohua's training choices are still loading: everything you entered is kept — "
                    "press Start training again in a moment."
                ),
            )
        return data

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not NAME_PATTERN.match(name):
            raise forms.ValidationError(
                gettext("Use letters, digits, spaces and - _ . ( ) only, starting with a letter or digit.")
            )
        if name.casefold() in self.taken_names:
            raise forms.ValidationError(gettext("A training or a model of this Miaohua account already has this name."))
        return name

    def clean_trigger_word(self) -> str:
        word = self.cleaned_data["trigger_word"].strip()
        if not TRIGGER_PATTERN.match(word):
            raise forms.ValidationError(gettext("A trigger word cannot contain commas, semicolons or line breaks."))
        return word


class LoraLinkForm(StudioForm):
    """An admin links a finished job to its LoRA by hand, picked from the account's private models (as cached:
    the page never waits on Miaohua)."""

    versionid = forms.ChoiceField(
        label=_("LoRA"),
        error_messages={
            "required": _("Pick the LoRA this training made."),
            "invalid_choice": _("Pick one of this Miaohua account's private models."),
        },
        help_text=_("The account's private models at Miaohua (uploaded and trained)."),
    )

    def __init__(self, *args, models=None, loading=False, error="", **kwargs):
        super().__init__(*args, **kwargs)
        self.models = {m.versionid: m for m in models or []}
        self.loading = loading
        self.fields["versionid"].choices = [("", gettext("Choose…"))] + [
            (m.versionid, f"{m.model_name} ({m.versionid})") for m in self.models.values()
        ]
        if loading:
            self.note = gettext("The account's private models are still loading from Miaohua; try again in a moment.")
        elif error:
            self.note = gettext("The account's private models could not be loaded: %(error)s") % {"error": shown(error)}
        elif not self.models:
            self.note = gettext("This Miaohua account has no private models yet.")
        else:
            self.note = ""

    def clean_versionid(self):
        versionid = self.cleaned_data["versionid"]
        return self.models[versionid]
