"""From a valid Generate form to the tasks it stands for (issue #13): the styles laid over the prompt, the
prompt's dynamic parts expanded and the batch count (a batch of tasks), then the sweep's axes (one task per
cell). Each step is its own module with its own small form, bound to the same POST under its own prefix:

- ``styles``           generation/styles.py           StylesForm, apply()
- ``batch``            generation/batches.py          BatchForm, expand()   (dynamic prompts, batch count)
- ``sweep``            generation/sweeps.py           SweepForm, expand()

A step that finds something wrong puts the message beside its field (on the Generate form or its own) and the
plan is None: nothing is stored, nothing entered is lost."""

import copy

from generation import batches, styles, sweeps
from generation.plans import Plan


def extra_forms(data=None, *, user, cats, task=None) -> dict:
    """The steps' forms, bound to ``data`` (a POST) or unbound with initial values from ``task`` (reuse)."""
    return {
        "styles": styles.StylesForm(data, user=user, task=task, prefix="style"),
        "batch": batches.BatchForm(data, task=task, prefix="batch"),
        "sweep": sweeps.SweepForm(data, user=user, cats=cats, task=task, prefix="sweep"),
    }


def plan_from_form(*, user, form, extras: dict, params: dict, model_name: str) -> Plan | None:
    """The plan of a valid form (and valid extras); None when a step refused it (its message is on a form)."""
    base_params = copy.deepcopy(params)
    styled = styles.apply(extras["styles"], params=params)
    if styled is None:
        return None
    params, style_ids, style_names = styled
    batch = batches.expand(extras["batch"], form=form, user=user, params=params, model_name=model_name)
    if batch is None:
        return None
    for task in batch:
        task.style_ids, task.style_names = list(style_ids), style_names
    plan = sweeps.expand(extras["sweep"], form=form, tasks=batch)
    if plan is None:
        return None
    plan.base_params = base_params
    if plan.kind is None and plan.n_tasks > 1:
        plan.kind = "batch"
    return plan
