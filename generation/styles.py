"""Styles (issue #13): a saved look laid over the prompt. Which styles a member may use (their own personal ones
and the team's), picking them on the Generate form (``StylesForm``), laying them over the prompt (``apply``),
and the sample thumbnail each shows to its reader. Creating, editing and deleting them: generation/style_forms.py
and generation/views_styles.py."""

import json

from django import forms
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from generation import vendor_rules as rules
from generation.models import GeneratedImage, Style
from miaohua_site.forms import StudioForm

# The settings a style may carry, as the Generate form names them (a style's optional part).
SETTINGS = ("versionid", "lora_versionid", "lora_weight", "output_size", "ddim_steps", "scale")


# --- who may use, see and change which style ----------------------------------------------------------------


def styles_usable_by(user) -> QuerySet[Style]:
    """The styles ``user`` may pick and see: their own personal ones and every team style."""
    if not getattr(user, "is_authenticated", False):
        return Style.objects.none()
    return Style.objects.filter(Q(scope=Style.Scope.TEAM) | Q(scope=Style.Scope.PERSONAL, owner=user))


def style_for_user(user, pk) -> Style:
    """A style ``user`` may see (someone else's personal style is a 404), or Http404."""
    return get_object_or_404(styles_usable_by(user), pk=pk)


def may_change(user, style: Style) -> bool:
    """A personal style is its owner's to change; the team's styles are the admins'."""
    if style.scope == Style.Scope.TEAM:
        return bool(user.is_staff)
    return style.owner_id == user.pk


def with_samples(styles: QuerySet[Style], reader) -> QuerySet[Style]:
    """Each style with ``sample_id``: its chosen sample image when ``reader`` may see it, else the newest stored
    image of a task made with it that ``reader`` may see (library.selectors.images_visible_to) — None when there
    is none. Two subqueries in the one query of the list: no query per style."""
    from library.selectors import images_visible_to

    visible = images_visible_to(reader).exclude(thumbnail="").filter(stored_at__isnull=False)
    chosen = visible.filter(pk=OuterRef("sample_image_id")).order_by().values("pk")[:1]
    newest = visible.filter(task__styles=OuterRef("pk")).order_by("-task__created_at", "-task_id", "save_index")
    return styles.annotate(sample_id=Coalesce(Subquery(chosen), Subquery(newest.values("pk")[:1])))


def sample_choices(style: Style, reader, limit: int = 12) -> QuerySet[GeneratedImage]:
    """The stored images made with ``style`` that ``reader`` may see, newest first: what a sample is picked from."""
    from library.selectors import images_visible_to

    return (
        images_visible_to(reader)
        .exclude(thumbnail="")
        .filter(stored_at__isnull=False, task__styles=style)
        .order_by("-task__created_at", "-task_id", "save_index")[:limit]
    )


def settings_of(style: Style) -> dict:
    """The settings a style carries (only those it sets), named as the Generate form names them."""
    values = {
        "versionid": style.versionid,
        "lora_versionid": style.lora_versionid,
        "lora_weight": style.lora_weight if style.lora_versionid else None,
        "output_size": style.output_size,
        "ddim_steps": style.ddim_steps,
        "scale": int(style.scale) if style.scale is not None else None,
    }
    return {key: value for key, value in values.items() if value not in (None, "")}


# --- laying styles over the prompt ---------------------------------------------------------------------------


def lay_over(template: str, text: str) -> str:
    """One style's template over the text so far (AUTOMATIC1111's rule): ``{prompt}`` is replaced by the text; a
    template without it is appended after ", "; an empty template leaves the text as it is."""
    template = (template or "").strip()
    if not template:
        return text
    if Style.PLACEHOLDER in template:
        laid = template.replace(Style.PLACEHOLDER, text.strip())
        return laid if text.strip() else laid.strip().strip(",").strip()  # no dangling comma over nothing
    return ", ".join(part for part in (text.strip(), template) if part)


def compose(styles: list[Style], prompt: str, neg_prompt: str) -> tuple[str, str]:
    """The prompt and negative prompt with each style laid over them, in order."""
    for style in styles:
        prompt = lay_over(style.prompt, prompt)
        neg_prompt = lay_over(style.neg_prompt, neg_prompt)
    return prompt, neg_prompt


class StylesForm(StudioForm):
    """The styles picked on the Generate form (prefix ``style``): only styles the member may use, applied in the
    order they were picked. ``order`` is a hidden list of ids the page keeps in click order; without it (no
    script) the styles apply in the order they are listed."""

    ids = forms.MultipleChoiceField(
        label=_("Styles"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "invalid_choice": _(
                "One of the chosen styles is not yours to use, or no longer exists: pick the styles again."
            ),
        },
    )
    order = forms.CharField(required=False, widget=forms.HiddenInput, max_length=2000)

    def __init__(self, data=None, *, user, task=None, **kwargs):
        super().__init__(data, **kwargs)
        self.user = user
        self.styles = list(with_samples(styles_usable_by(user).select_related("owner"), user))
        self.by_id = {str(style.pk): style for style in self.styles}
        for style in self.styles:  # what the page puts into the Generate form when the style is picked
            style.settings_json = json.dumps(settings_of(style))
        self.fields["ids"].choices = [(str(style.pk), style.name) for style in self.styles]
        if data is None and task is not None:
            self.initial["ids"] = self._styles_of(task)
            self.initial["order"] = ",".join(self.initial["ids"])

    def _styles_of(self, task) -> list[str]:
        """The reused task's styles that still exist and that this member may use, in the order they were applied
        (the names on the task keep it)."""
        names = [name.strip() for name in (task.style_names or "").split(",")]
        mine = [str(pk) for pk in task.styles.values_list("pk", flat=True) if str(pk) in self.by_id]

        def place(pk):
            name = self.by_id[pk].name
            return names.index(name) if name in names else len(names)

        return sorted(mine, key=place)

    @property
    def personal(self) -> list[Style]:
        return [style for style in self.styles if style.scope == Style.Scope.PERSONAL]

    @property
    def team(self) -> list[Style]:
        return [style for style in self.styles if style.scope == Style.Scope.TEAM]

    @property
    def picked(self) -> list[str]:
        """The ids picked now (bound: as posted; unbound: the initial ones), as strings, in their order."""
        if self.is_bound:
            chosen = [pk for pk in self.data.getlist(self.add_prefix("ids")) if pk in self.by_id]
            return _ordered(chosen, self.data.get(self.add_prefix("order"), ""))
        return list(self.initial.get("ids") or [])

    def clean(self):
        data = super().clean()
        chosen = data.get("ids") or []
        data["chosen"] = [self.by_id[pk] for pk in _ordered(chosen, data.get("order") or "")]
        return data


def _ordered(chosen: list[str], order: str) -> list[str]:
    """``chosen`` in the order the hidden field names them; those it does not name after, as posted."""
    ranks = {}
    for pk in (part.strip() for part in order.split(",")):
        if pk and pk not in ranks:
            ranks[pk] = len(ranks)
    unique = list(dict.fromkeys(chosen))
    return sorted(unique, key=lambda pk: (ranks.get(pk, len(ranks)), unique.index(pk)))


def apply(styles_form: StylesForm, *, params: dict):
    """(params with the chosen styles laid over them, their ids, their names) — or None with an error on a form."""
    chosen = styles_form.cleaned_data.get("chosen") or []
    if not chosen:
        return params, [], ""
    prompt, neg_prompt = compose(chosen, params.get("prompt") or "", params.get("neg_prompt") or "")
    too_long = [
        label
        for label, text in ((gettext("prompt"), prompt), (gettext("negative prompt"), neg_prompt))
        if len(text) > rules.PROMPT_MAX
    ]
    if too_long:
        styles_form.add_error(
            "ids",
            gettext(
                "With these styles the %(what)s is %(length)s characters; Miaohua takes at most %(max)s. "
                "Shorten the prompt or pick fewer styles."
            )
            % {
                "what": too_long[0],
                "length": len(prompt if too_long[0] == gettext("prompt") else neg_prompt),
                "max": rules.PROMPT_MAX,
            },
        )
        return None
    styled = {**params, "prompt": prompt, "neg_prompt": neg_prompt}
    return styled, [style.pk for style in chosen], ", ".join(style.name for style in chosen)
