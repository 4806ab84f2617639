"""The Generate page's "Read settings from an image": the upload's form, and the form's values laid over from the
parameters an image carries (library.parameters reads them; no vendor call)."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from generation import vendor_rules as rules
from generation.forms import CUSTOM
from library import parameters
from miaohua_site.forms import StudioForm
from miaohua_site.i18n import english
from miaohua_site.params import IdField

NOTHING_FOUND = _("No generation settings found in this image.")


class ReadParametersForm(StudioForm):
    parameters_image = forms.FileField(
        label=_("Read settings from an image"),
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(rules.UPLOAD_EXTENSIONS)}),
        error_messages={"required": _("Choose an image to read its settings from.")},
        help_text=_("An image made here, or with AUTOMATIC1111, ComfyUI, SwarmUI or InvokeAI. You can also "
                    "drop it anywhere on this page."),
    )  # fmt: skip

    def clean_parameters_image(self):
        file = self.cleaned_data["parameters_image"]
        if file.size is not None and file.size > rules.UPLOAD_MAX_BYTES:  # the init image's limit
            raise ValidationError(english(rules.TOO_LARGE, size=f"{file.size / 1024 / 1024:.1f}"))
        file.seek(0)
        head = file.read(16)
        file.seek(0)
        if parameters.image_format(head) is None:
            raise ValidationError(gettext(rules.UNREADABLE))
        self.found = parameters.read_parameters(file)
        if self.found is None or not self.found.values:
            notes = " ".join(self.found.notes) if self.found is not None else ""
            raise ValidationError(f"{NOTHING_FOUND} {notes}".strip())
        return file


def _current(form) -> dict:
    """A posted (and validated) form's values as initial values: as cleaned where they are valid, else as typed;
    an id that is not valid is left out (it is never looked up), and so are the file fields."""
    cleaned = getattr(form, "cleaned_data", {})
    values = {}
    for name, field in form.fields.items():
        if isinstance(field, forms.FileField):
            continue
        if isinstance(field, IdField):  # as the data says now: keep_uploads points it at a stored upload
            try:
                value = field.clean(form[name].value())
            except ValidationError:
                continue
        elif name in cleaned:
            value = cleaned[name]
        else:
            value = form[name].value()
        if value not in (None, ""):
            values[name] = value
    if values.get("output_size") == CUSTOM and values.get("width") and values.get("height"):
        values["output_size"] = f"{values['width']}x{values['height']}"  # as an unbound form expects it
    return values


def laid_over(found, *, form, units, cats) -> tuple[dict, list[dict], list[str]]:
    """(initial, unit initials, notes): the Generate form as it was posted (``form``, ``units``: bound, not
    necessarily valid), with what the image carries laid over it. The image's ControlNet units replace the
    form's when it has any."""
    loras = None if "loras" in cats.loading else [*cats.loras, *cats.private_models]
    controlnets = [*cats.cn_artist, *cats.cn_opensource]
    values, unit_values, notes = parameters.to_generate_initial(
        found, base_models=cats.base_models, loras=loras, controlnets=controlnets
    )
    initial = {**_current(form), **values}
    unit_initials = unit_values or [_current(unit) for unit in units]
    return initial, unit_initials[: rules.MAX_CONTROLNETS], notes


def as_posted(*, form, units) -> tuple[dict, list[dict]]:
    """The Generate form as it was posted, as initial values (nothing typed is lost)."""
    return _current(form), [_current(unit) for unit in units][: rules.MAX_CONTROLNETS]
