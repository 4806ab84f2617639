"""Batches and dynamic prompts (issue #13): the Generate form's batch count and the dynamic prompt's mode, and
the tasks they stand for. The prompt (and the negative prompt) are expanded here, after the styles: each task
records the prompt it was really made with, which is what history shows and searches.

- **Random** (the default): ``count`` tasks, each with one random expansion (reproducible: the random choices
  follow the seed when one is fixed).
- **Every combination**: one task per expansion, in order; the count is not used.

Seeds (AUTOMATIC1111's rule): when the prompts vary, a fixed seed stays the same on every task, so only the
prompt changes; a batch of the same prompt gets seed, seed + 1, … (and -1, a random seed, stays random)."""

import random

from django import forms
from django.conf import settings
from django.core.validators import MaxValueValidator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from generation import dynamic_prompts as dp
from generation import vendor_rules as rules
from generation.plans import TaskPlan
from miaohua_site.forms import StudioForm

RANDOM = "random"
COMBINATIONS = "combinations"


def max_tasks() -> int:
    return max(1, settings.GENERATION_BATCH_MAX_TASKS)


class BatchForm(StudioForm):
    count = forms.IntegerField(
        label=_("Batch count"),
        min_value=1,
        initial=1,
        help_text=_(
            "Tasks to make from this form. A fixed seed counts up (seed, seed + 1, …) when the prompt is "
            "the same on every task, and stays the same when a dynamic prompt varies it."
        ),
    )
    mode = forms.ChoiceField(
        label=_("Dynamic prompt"),
        choices=[(RANDOM, _("Random: one choice per task")), (COMBINATIONS, _("Every combination: one task each"))],
        initial=RANDOM,
        help_text=_("Every combination makes one task per combination and does not use the batch count."),
    )

    def __init__(self, data=None, *, task=None, **kwargs):
        super().__init__(data, **kwargs)
        cap = max_tasks()
        self.fields["count"].max_value = cap
        self.fields["count"].validators.append(MaxValueValidator(cap))
        self.fields["count"].widget.attrs.update({"min": 1, "max": cap})
        self.fields["count"].widget.attrs["class"] += " form-control-sm"
        self.fields["mode"].widget.attrs["class"] += " form-select-sm"
        # An unbound or partly posted form (a page without the batch fields) means one task, at random.
        if data is not None and self.add_prefix("count") not in data:
            self.data = data.copy() if hasattr(data, "copy") else dict(data)
            self.data[self.add_prefix("count")] = "1"
            self.data.setdefault(self.add_prefix("mode"), RANDOM)

    def clean_mode(self):
        return self.cleaned_data.get("mode") or RANDOM


def _seeds(seed, n: int, *, vary: bool) -> list:
    if seed is None or seed < 0 or vary:
        return [seed] * n
    top = rules.SEED[1] + 1
    return [(seed + i) % top for i in range(n)]


def expand_prompts(*, prompt: str, neg_prompt: str, mode: str, count: int, seed=None, expander=None):
    """The (prompt, neg_prompt) of each task, and whether they vary. Raises DynamicPromptError (with ``field``
    set to the field it belongs beside)."""
    expander = expander or dp.Expander()
    cap = max_tasks()
    pairs = []
    for field, text in (("prompt", prompt), ("neg_prompt", neg_prompt)):
        try:
            pairs.append((field, dp.parse(text or "")))
        except dp.DynamicPromptError as error:
            error.field = field
            raise
    (_, p_parts), (_, n_parts) = pairs
    vary = dp.has_syntax(p_parts) or dp.has_syntax(n_parts)
    try:
        if mode == COMBINATIONS:
            p_count = expander.count(p_parts) if dp.has_syntax(p_parts) else 1
            n_count = expander.count(n_parts) if dp.has_syntax(n_parts) else 1
            if p_count * n_count > cap:
                error = dp.DynamicPromptError(dp.too_many(p_count * n_count, cap))
                error.field = "prompt"
                raise error
            prompts = list(expander.every(p_parts))
            negs = list(expander.every(n_parts))
            result = [(p, n) for p in prompts for n in negs]
        else:
            rng = random.Random(seed if seed is not None and seed >= 0 else None)
            for field, parts in pairs:
                try:
                    expander.check(parts)
                except dp.DynamicPromptError as error:
                    error.field = field
                    raise
            result = [(expander.pick(p_parts, rng), expander.pick(n_parts, rng)) for _ in range(count)]
    except dp.DynamicPromptError as error:
        if not hasattr(error, "field"):
            error.field = "prompt"
        raise
    return result, vary


def expand(batch_form: BatchForm, *, form, user, params: dict, model_name: str):
    """The tasks of a batch (one for a plain submission), or None with an error on a form."""
    data = batch_form.cleaned_data if batch_form.is_bound and batch_form.is_valid() else {}
    mode = data.get("mode") or RANDOM
    count = data.get("count") or 1
    try:
        pairs, vary = expand_prompts(
            prompt=params.get("prompt") or "",
            neg_prompt=params.get("neg_prompt") or "",
            mode=mode,
            count=count,
            seed=params.get("select_seed"),
        )
    except dp.DynamicPromptError as error:
        form.add_error(error.field, error.message)
        return None
    for field, index in (("prompt", 0), ("neg_prompt", 1)):
        longest = max((pair[index] for pair in pairs), key=len, default="")
        if len(longest) > rules.PROMPT_MAX:
            form.add_error(
                field,
                gettext("Expanded, this prompt is %(length)s characters long (at most %(max)s): “%(start)s…”.")
                % {"length": len(longest), "max": rules.PROMPT_MAX, "start": longest[:40]},
            )
            return None
    seeds = _seeds(params.get("select_seed"), len(pairs), vary=vary)
    tasks = []
    for (prompt, neg), seed in zip(pairs, seeds, strict=True):
        task_params = {**params, "prompt": prompt, "neg_prompt": neg}
        if "select_seed" in params:
            task_params["select_seed"] = seed
        tasks.append(TaskPlan(params=task_params, model_name=model_name))
    return tasks


def preview(*, prompt: str, neg_prompt: str = "", mode: str = RANDOM, count: int = 1) -> dict:
    """What the form would make, for the one-line preview beside the batch fields (never calls the vendor)."""
    expander = dp.Expander()
    try:
        p_parts, n_parts = dp.parse(prompt or ""), dp.parse(neg_prompt or "")
        dynamic = dp.has_syntax(p_parts) or dp.has_syntax(n_parts)
        if not dynamic:
            return {"dynamic": False, "n_tasks": count, "samples": [], "combinations": 1, "mode": mode}
        expander.check(p_parts)
        expander.check(n_parts)
        total = expander.count(p_parts) * expander.count(n_parts)
        samples = []
        for text in expander.every(p_parts):
            samples.append(text)
            if len(samples) == 3:
                break
        n_tasks = total if mode == COMBINATIONS else count
        return {
            "dynamic": True,
            "combinations": total,
            "samples": samples,
            "n_tasks": n_tasks,
            "mode": mode,
            "over": mode == COMBINATIONS and total > max_tasks(),
            "cap": max_tasks(),
        }
    except dp.DynamicPromptError as error:
        return {"error": error.message}
