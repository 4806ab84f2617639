"""X/Y/Z sweeps (issue #13). Stub until that work lands."""

from django import forms

from generation.plans import Plan


class SweepForm(forms.Form):
    def __init__(self, data=None, *, user, cats, task=None, **kwargs):
        super().__init__(data, **kwargs)


def expand(sweep_form: SweepForm, *, form, tasks):
    """The plan: the tasks as they are when no axis is chosen, else one per cell (× each task). None: refused."""
    return Plan(tasks=list(tasks))
