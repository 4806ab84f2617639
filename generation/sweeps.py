"""X/Y/Z sweeps (issue #13): up to three axes over a task's settings, one task per cell.

The values are typed A1111-style: a comma-separated list (``7, 9, 11``), ranges of whole numbers ``1-5``, with a
step ``10-30 (+5)`` or a count ``1-3 [5]`` (evenly spaced); a prompt search-and-replace's first value is the text
looked for, each value replaces it (the first leaves the prompt as it is). Each axis's values are checked like the
Generate form's own fields, and each message stands beside its axis. ``expand()`` turns the batch's tasks into one
task per cell (z, then y, then x), each an ordinary task with its ``cell`` = [x, y, z]."""

import math
import random
import re
from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from generation import vendor_rules as rules
from generation.plans import Plan, TaskPlan
from miaohua_site.forms import StudioForm

AXES = ("x", "y", "z")
NONE, SEED, SCALE, STEPS, PROMPT_SR, MODEL, LORA, LORA_WEIGHT, CN_WEIGHT, SIZE = (
    "",
    "seed",
    "scale",
    "steps",
    "prompt_sr",
    "model",
    "lora",
    "lora_weight",
    "cn_weight",
    "size",
)
KIND_CHOICES = [
    (NONE, _("Nothing")),
    (SEED, _("Seed")),
    (SCALE, _("Guidance scale")),
    (STEPS, _("Steps")),
    (PROMPT_SR, _("Prompt search / replace")),
    (MODEL, _("Base model")),
    (LORA, _("LoRA")),
    (LORA_WEIGHT, _("LoRA weight")),
    (CN_WEIGHT, _("ControlNet weight")),
    (SIZE, _("Size")),
]
KIND_LABELS = dict(KIND_CHOICES)
# Whole-number axes and their ranges (the Generate form's own), and the weights (0–2, decimals).
INTEGER_RANGES = {SEED: rules.SEED, SCALE: (1, 20), STEPS: rules.STEPS}
FLOAT_RANGES = {LORA_WEIGHT: rules.WEIGHT, CN_WEIGHT: rules.WEIGHT}
VALUES_MAX_CHARS = 2000

_NUMBER = r"[+-]?\s*\d+(?:\.\d*)?"
RANGE = re.compile(
    rf"^\s*(?P<start>{_NUMBER})\s*-\s*(?P<end>{_NUMBER})"
    rf"(?:\s*\(\s*(?P<step>[+-]\s*\d+(?:\.\d*)?)\s*\)|\s*\[\s*(?P<count>\d+)\s*\])?\s*$"
)
SIZE_VALUE = re.compile(r"^\s*(\d+)\s*[x×X*]\s*(\d+)\s*$")


def max_tasks() -> int:
    return settings.GENERATION_SWEEP_MAX_TASKS


class ValuesError(ValueError):
    """A value the axis cannot take; the message is for the person, beside the axis."""


def _number(text: str) -> float:
    return float(text.replace(" ", ""))


def _numbers(text: str, *, whole: bool, limit: int) -> list[float]:
    """Every number a list of numbers and ranges stands for, in order (never more than ``limit``)."""
    values: list[float] = []
    for item in _items(text):
        match = RANGE.match(item)
        if match:
            start, end = _number(match["start"]), _number(match["end"])
            if match["count"] is not None:
                count = int(match["count"])
                if count < 1:
                    raise ValuesError(gettext("“%(item)s”: a count in [ ] must be 1 or more.") % {"item": item})
                if count > limit:
                    raise _too_many(limit)
                step = (end - start) / (count - 1) if count > 1 else 0
                values.extend(start + step * i for i in range(count))
            else:
                step = _number(match["step"]) if match["step"] else (1 if end >= start else -1)
                if step == 0 or (end - start) * step < 0:
                    raise ValuesError(
                        gettext("“%(item)s”: the step must go from the first number towards the second.")
                        % {"item": item}
                    )
                n = int(abs(end - start) / abs(step) + 1e-9) + 1
                if n > limit:
                    raise _too_many(limit)
                values.extend(start + step * i for i in range(n))
        else:
            try:
                number = _number(item)
                if not math.isfinite(number):
                    raise ValueError(item)
                values.append(number)
            except ValueError:
                raise ValuesError(
                    gettext("“%(item)s” is not a number or a range such as 1-5, 10-30 (+5) or 1-3 [5].")
                    % {"item": item}
                ) from None
        if len(values) > limit:
            raise _too_many(limit)
    if whole:
        rounded = [round(v) for v in values]
        if any(abs(v - r) > 1e-9 for v, r in zip(values, rounded, strict=True)):
            raise ValuesError(gettext("These values must be whole numbers."))
        return rounded
    return [round(v, 4) for v in values]


def _too_many(limit: int) -> ValuesError:
    return ValuesError(
        gettext("That is more than %(max)s values; a sweep makes at most %(max)s tasks.") % {"max": f"{limit:,}"}
    )


def _items(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _english(text) -> str:
    with translation.override("en"):
        return str(text)


def _label(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


@dataclass
class Axis:
    """One chosen axis: its kind, the values put into the parameters, and the labels shown on the grid."""

    letter: str
    kind: str
    values: list
    labels: list[str]
    search: str = ""  # prompt S/R: the text looked for

    def as_stored(self) -> dict:
        stored = {
            "axis": self.letter,
            "kind": self.kind,
            "label": _english(KIND_LABELS[self.kind]),  # stored in English; pages show KIND_LABELS
            "values": self.values,
            "labels": self.labels,
        }
        if self.search:
            stored["search"] = self.search
        return stored


class SweepForm(StudioForm):
    """The sweep's three axes, bound to the Generate form's POST under the ``sweep`` prefix. It reads the Generate
    form's own fields from the same data (the prompt, the LoRA, the ControlNet units) to check what an axis needs."""

    x_kind = forms.ChoiceField(label=_("X axis"), choices=KIND_CHOICES, required=False)
    x_values = forms.CharField(label=_("X values"), required=False, max_length=VALUES_MAX_CHARS)
    y_kind = forms.ChoiceField(label=_("Y axis"), choices=KIND_CHOICES, required=False)
    y_values = forms.CharField(label=_("Y values"), required=False, max_length=VALUES_MAX_CHARS)
    z_kind = forms.ChoiceField(label=_("Z axis"), choices=KIND_CHOICES, required=False)
    z_values = forms.CharField(label=_("Z values"), required=False, max_length=VALUES_MAX_CHARS)

    def __init__(self, data=None, *, user, cats, task=None, **kwargs):
        super().__init__(data, **kwargs)
        self.user = user
        self.cats = cats
        self.axes: list[Axis] = []
        for letter in AXES:
            values = self.fields[f"{letter}_values"].widget.attrs
            values.update(placeholder=gettext("e.g. 5, 7, 9 or 10-30 (+5)"), autocomplete="off", spellcheck="false")
            values["class"] = f"{values.get('class', '')} form-control-sm".strip()
            kind = self.fields[f"{letter}_kind"].widget.attrs
            kind["class"] = f"{kind.get('class', '')} form-select-sm".strip()
        if task is not None and task.group_id and task.group is not None and task.group.kind == "sweep":
            for stored in task.group.axes:  # "reuse these settings" of a sweep's task: its axes again
                letter = stored.get("axis")
                if letter in AXES and stored.get("kind") in KIND_LABELS:
                    self.initial[f"{letter}_kind"] = stored["kind"]
                    values = stored.get("labels") or []
                    if stored.get("search") is not None and stored.get("kind") == PROMPT_SR:
                        values = [stored["search"], *values[1:]]
                    self.initial[f"{letter}_values"] = ", ".join(values)

    # --- The Generate form's fields, read from the same POST ---------------------------------------------------

    def _raw(self, name: str) -> str:
        value = self.data.get(name, "") if self.is_bound else ""
        return value if isinstance(value, str) else ""

    def _has_controlnet(self) -> bool:
        return any(key.startswith("cn-") and key.endswith("-cn") and self.data.get(key) for key in self.data)

    # --- Each kind's values ------------------------------------------------------------------------------------

    def _parse(self, kind: str, text: str, *, lora_on_axis: bool) -> tuple[list, list[str], str]:
        limit = max_tasks()
        if kind in INTEGER_RANGES or kind in FLOAT_RANGES:
            whole = kind in INTEGER_RANGES
            low, high = INTEGER_RANGES.get(kind) or FLOAT_RANGES[kind]
            values = _numbers(text, whole=whole, limit=limit)
            wrong = [v for v in values if not low <= v <= high]
            if wrong:
                raise ValuesError(
                    gettext("%(value)s is outside %(low)s–%(high)s, what this setting takes.")
                    % {"value": _label(wrong[0]), "low": _label(low), "high": _label(high)}
                )
            if kind == LORA_WEIGHT and not (self._raw("lora_versionid") or lora_on_axis):
                raise ValuesError(gettext("A LoRA weight sweep needs a LoRA: choose one in the form or on an axis."))
            if kind == CN_WEIGHT and not self._has_controlnet():
                raise ValuesError(gettext("A ControlNet weight sweep needs at least one ControlNet unit."))
            return values, [_label(v) for v in values], ""
        items = _items(text)
        if len(items) > limit:
            raise _too_many(limit)
        if kind == PROMPT_SR:
            if not items:
                raise ValuesError(gettext("Enter the text to look for, then what replaces it, separated by commas."))
            search, prompt = items[0], self._raw("prompt")
            if search not in prompt:
                raise ValuesError(gettext("The prompt does not contain “%(text)s”.") % {"text": search})
            return items, items, search
        if kind in (MODEL, LORA):
            if kind == MODEL:
                catalog = list(self.cats.base_models)
            else:
                catalog = [*self.cats.private_models, *self.cats.loras]
            values, labels = [], []
            for item in items:
                wanted = item.casefold()
                found = next(
                    (m for m in catalog if wanted in (m.versionid.casefold(), m.model_name.strip().casefold())), None
                )
                if found is None:
                    if kind == MODEL:
                        message = gettext("There is no base model “%(name)s” in the catalog.")
                    else:
                        message = gettext("There is no LoRA “%(name)s” in the catalog.")
                    raise ValuesError(message % {"name": item})
                values.append(found.versionid)
                labels.append(found.model_name)
            return values, labels, ""
        if kind == SIZE:
            values = []
            for item in items:
                match = SIZE_VALUE.match(item)
                if not match:
                    raise ValuesError(gettext("“%(item)s” is not a size such as 640x640.") % {"item": item})
                width, height = int(match[1]), int(match[2])
                low, high = rules.SIDE
                if not (low <= width <= high and low <= height <= high):
                    raise ValuesError(
                        gettext("%(size)s: each side must be %(min)s–%(max)s pixels (what Miaohua accepts).")
                        % {"size": f"{width}x{height}", "min": low, "max": high}
                    )
                values.append(f"{width}x{height}")
            return values, [v.replace("x", "×") for v in values], ""
        raise ValuesError(gettext("Choose what this axis changes."))

    def clean(self):
        data = super().clean()
        chosen = [(letter, data.get(f"{letter}_kind") or NONE) for letter in AXES]
        seen: dict[str, str] = {}
        for letter, kind in chosen:
            if kind == NONE:
                continue
            if kind in seen:
                self.add_error(
                    f"{letter}_kind",
                    gettext("%(kind)s is already the %(axis)s axis: an axis can change a setting only once.")
                    % {"kind": KIND_LABELS[kind], "axis": seen[kind].upper()},
                )
                continue
            seen[kind] = letter
        lora_on_axis = LORA in seen
        self.axes = []
        for letter, kind in chosen:
            if kind == NONE or f"{letter}_kind" in self.errors or f"{letter}_values" in self.errors:
                continue
            text = data.get(f"{letter}_values") or ""
            if not text.strip():
                self.add_error(f"{letter}_values", gettext("Enter this axis's values, separated by commas."))
                continue
            try:
                values, labels, search = self._parse(kind, text, lora_on_axis=lora_on_axis)
            except ValuesError as error:
                self.add_error(f"{letter}_values", str(error))
                continue
            if not values:
                self.add_error(f"{letter}_values", gettext("Enter this axis's values, separated by commas."))
                continue
            if kind == PROMPT_SR:
                self.axes.append(Axis(letter, kind, values, labels, search=search))
            else:
                self.axes.append(Axis(letter, kind, values, labels))
        if self.axes and self.n_cells > max_tasks():
            self.add_error(
                None,
                gettext("This sweep has %(n)s cells; a sweep makes at most %(max)s tasks. Use fewer values.")
                % {"n": f"{self.n_cells:,}", "max": f"{max_tasks():,}"},
            )
        return data

    @property
    def axis_fields(self):
        """(kind, values) bound fields of X, Y and Z, for the panel."""
        return [(self[f"{letter}_kind"], self[f"{letter}_values"]) for letter in AXES]

    @property
    def n_cells(self) -> int:
        n = 1
        for axis in self.axes:
            n *= len(axis.values)
        return n

    def axis(self, letter: str) -> Axis | None:
        return next((axis for axis in self.axes if axis.letter == letter), None)


def _apply(params: dict, axis: Axis, index: int, *, lora_weight=0.8) -> tuple[dict, str | None]:
    """The parameters with this axis at its ``index``-th value; and the versionid of a new base model."""
    value = axis.values[index]
    model = None
    if axis.kind == SEED:
        params["select_seed"] = value
    elif axis.kind == SCALE:
        params["scale"] = value
    elif axis.kind == STEPS:
        params["ddim_steps"] = value
    elif axis.kind == PROMPT_SR:
        if index:  # the first value is the text itself: the prompt unchanged
            params["prompt"] = params.get("prompt", "").replace(axis.search, value)
            if params.get("neg_prompt"):
                params["neg_prompt"] = params["neg_prompt"].replace(axis.search, value)
    elif axis.kind == MODEL:
        params["versionid"] = value
        model = value
    elif axis.kind == LORA:
        weight = (params.get("lora_configs") or [{}])[0].get("merge_weight", lora_weight)
        params["lora_configs"] = [{"versionid": value, "merge_weight": weight}]
    elif axis.kind == LORA_WEIGHT:
        configs = params.get("lora_configs") or []
        params["lora_configs"] = [{**config, "merge_weight": value} for config in configs]
    elif axis.kind == CN_WEIGHT:
        params["cn_configs"] = [{**config, "weight": value} for config in params.get("cn_configs") or []]
    elif axis.kind == SIZE:
        params["output_size"] = value
    return params, model


def _copy(params: dict) -> dict:
    import copy

    return copy.deepcopy(params)


def expand(sweep_form: SweepForm, *, form, tasks, seed_picker=None):
    """The plan: the tasks as they are when no axis is chosen, else one per cell (× each task of the batch, in
    the order z, y, x). None: refused (the message is on a form). A random seed is picked once for each of the
    batch's tasks, so every cell of its grid is comparable (unless the seed is an axis)."""
    axes = sweep_form.axes
    if not axes:
        return Plan(tasks=list(tasks))
    if sweep_form.n_cells * len(tasks) > max_tasks():
        sweep_form.add_error(
            None,
            gettext(
                "This sweep makes %(n)s tasks (%(cells)s cells × %(batch)s of the batch); a sweep makes at most "
                "%(max)s. Use fewer values or a smaller batch."
            )
            % {
                "n": f"{sweep_form.n_cells * len(tasks):,}",
                "cells": f"{sweep_form.n_cells:,}",
                "batch": f"{len(tasks):,}",
                "max": f"{max_tasks():,}",
            },
        )
        return None
    pick = seed_picker or (lambda: random.randint(0, rules.SEED[1]))
    models = {m.versionid: m.model_name for m in getattr(sweep_form.cats, "base_models", [])}
    by_letter = {axis.letter: axis for axis in axes}
    sizes = [len(by_letter[letter].values) if letter in by_letter else 1 for letter in AXES]
    ordered = sorted(axes, key=lambda axis: axis.kind != LORA)  # the LoRA before its weight
    cleaned = getattr(form, "cleaned_data", None) or {}
    lora_weight = cleaned.get("lora_weight") if cleaned.get("lora_weight") is not None else 0.8
    planned = []
    for task in tasks:
        base = _copy(task.params)
        if SEED not in {axis.kind for axis in axes} and int(base.get("select_seed", -1)) == -1:
            base["select_seed"] = pick()  # one seed for the whole grid
        for z in range(sizes[2]):
            for y in range(sizes[1]):
                for x in range(sizes[0]):
                    params, model_name = _copy(base), task.model_name
                    cell = {"x": x, "y": y, "z": z}
                    for axis in ordered:
                        params, model = _apply(params, axis, cell[axis.letter], lora_weight=lora_weight)
                        if model is not None:
                            model_name = models.get(model, model)
                    planned.append(
                        TaskPlan(
                            params=params,
                            model_name=model_name,
                            cell=[x, y, z],
                            style_ids=list(task.style_ids),
                            style_names=task.style_names,
                        )
                    )
    return Plan(tasks=planned, kind="sweep", axes=[axis.as_stored() for axis in axes])
