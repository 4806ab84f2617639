"""A Bootstrap-styled form base: every widget gets its Bootstrap class, and a field with an error is
marked invalid (and points screen readers at its message) so errors show beside their fields."""

from django import forms


def _widget_class(widget) -> str:
    if isinstance(widget, forms.CheckboxInput | forms.RadioSelect | forms.CheckboxSelectMultiple):
        return "form-check-input"
    if isinstance(widget, forms.Select):
        return "form-select"
    if isinstance(widget, forms.FileInput):
        return "form-control"
    return "form-control"


class StudioFormMixin:
    # Fields drawn without a place for their message (besides hidden ones): their errors are listed above the form.
    errors_above: tuple[str, ...] = ()

    def errors_not_beside_fields(self) -> list[str]:
        """The messages of hidden fields and of ``errors_above``: a tampered form says what was wrong."""
        names = [name for name, field in self.fields.items() if field.widget.is_hidden or name in self.errors_above]
        return [message for name in names for message in self.errors.get(name, [])]

    def has_errors_beside_fields(self) -> bool:
        hidden = {name for name, field in self.fields.items() if field.widget.is_hidden or name in self.errors_above}
        return any(name in self.fields and name not in hidden for name in self.errors)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            css = field.widget.attrs.get("class", "")
            field.widget.attrs["class"] = f"{css} {_widget_class(field.widget)}".strip()

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                attrs["class"] = f"{attrs.get('class', '')} is-invalid".strip()
                attrs["aria-invalid"] = "true"
                attrs["aria-describedby"] = f"id_{self.add_prefix(name)}_error"


class StudioForm(StudioFormMixin, forms.Form):
    pass
