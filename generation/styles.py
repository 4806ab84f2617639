"""Styles (issue #13): a saved look laid over the prompt. Stub until the styles work lands."""

from django import forms


class StylesForm(forms.Form):
    def __init__(self, data=None, *, user, task=None, **kwargs):
        super().__init__(data, **kwargs)
        self.user = user


def apply(styles_form: StylesForm, *, params: dict):
    """(params with the chosen styles laid over them, their ids, their names) — or None with an error on a form."""
    return params, [], ""
