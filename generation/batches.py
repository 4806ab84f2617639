"""Batches and dynamic prompts (issue #13). Stub until that work lands."""

from django import forms

from generation.plans import TaskPlan


class BatchForm(forms.Form):
    def __init__(self, data=None, *, task=None, **kwargs):
        super().__init__(data, **kwargs)


def expand(batch_form: BatchForm, *, form, user, params: dict, model_name: str):
    """The tasks of a batch (one for a plain submission), or None with an error on a form."""
    return [TaskPlan(params=params, model_name=model_name)]
