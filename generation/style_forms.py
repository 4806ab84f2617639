"""Making and changing styles (issue #13): the style form of the Styles pages and of "Save these settings as a
style" on the Generate form, and the writes (style_save, style_delete).

Model, LoRA and size must be values Miaohua lists when its catalogs are here (the same lists as the Generate
form); while a list is still loading, or for a value a style already has that the list no longer names, the
value is kept as it is and a warning says so — a style is never refused because a catalog is late."""

from django import forms
from django.core.validators import MaxLengthValidator
from django.db import transaction
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _

from generation import catalog
from generation import vendor_rules as rules
from generation.forms import CUSTOM, _fits
from generation.models import GeneratedImage, Style
from generation.styles import sample_choices
from miaohua_site.accounts.services import account_for_user
from miaohua_site.forms import StudioForm, StudioFormMixin

TEMPLATE_HELP = _("{prompt} stands for the text so far; without it, this is added after a comma.")
KEEP_CHOICES = [
    ("versionid", _("Base model")),
    ("lora", _("LoRA and weight")),
    ("output_size", _("Size")),
    ("ddim_steps", _("Steps")),
    ("scale", _("Guidance scale")),
]


def catalogs_for(user):
    """The Generate form's catalogs for ``user`` (from the cache), or None without a Miaohua account."""
    account = account_for_user(user)
    return catalog.generate_catalogs(account) if account is not None else None


class StyleForm(StudioFormMixin, forms.ModelForm):
    scope = forms.ChoiceField(label=_("Who uses it"), choices=Style.Scope.choices, initial=Style.Scope.PERSONAL)
    versionid = forms.ChoiceField(label=_("Base model"), required=False)
    lora_versionid = forms.ChoiceField(label=_("LoRA"), required=False)
    lora_weight = forms.FloatField(
        label=_("LoRA weight"),
        required=False,
        min_value=rules.WEIGHT[0],
        max_value=rules.WEIGHT[1],
        widget=forms.NumberInput(attrs={"step": 0.05, "min": rules.WEIGHT[0], "max": rules.WEIGHT[1]}),
    )
    output_size = forms.CharField(
        label=_("Size"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"placeholder": "960x960", "list": "style-sizes"}),
    )
    ddim_steps = forms.IntegerField(
        label=_("Steps"),
        required=False,
        min_value=rules.STEPS[0],
        max_value=rules.STEPS[1],
        widget=forms.NumberInput(attrs={"min": rules.STEPS[0], "max": rules.STEPS[1]}),
    )
    scale = forms.IntegerField(
        label=_("Guidance scale"),
        required=False,
        min_value=rules.SCALE[0],
        max_value=rules.SCALE[1],
        widget=forms.NumberInput(attrs={"min": rules.SCALE[0], "max": rules.SCALE[1]}),
    )
    sample = forms.ChoiceField(label=_("Sample thumbnail"), required=False, widget=forms.RadioSelect)

    class Meta:
        model = Style
        fields = ["name", "scope", "prompt", "neg_prompt", "versionid", "lora_versionid", "lora_weight"]
        fields += ["output_size", "ddim_steps", "scale"]
        widgets = {
            "prompt": forms.Textarea(attrs={"rows": 3, "maxlength": rules.PROMPT_MAX}),
            "neg_prompt": forms.Textarea(attrs={"rows": 2, "maxlength": rules.PROMPT_MAX}),
        }
        labels = {"prompt": _("Prompt template"), "neg_prompt": _("Negative prompt template")}

    def __init__(self, *args, user, cats=None, compact=False, **kwargs):
        """``compact``: drawn inside the Generate form (small controls, shorter textareas)."""
        super().__init__(*args, **kwargs)
        self.user = user
        if compact:
            for field in self.fields.values():
                css = field.widget.attrs.get("class", "")
                size = "form-select-sm" if "form-select" in css else "form-control-sm" if "form-control" in css else ""
                field.widget.attrs["class"] = f"{css} {size}".strip()
                if isinstance(field.widget, forms.Textarea):
                    field.widget.attrs["rows"] = 2
        self.warnings: dict[str, str] = {}
        self.fields["name"].max_length = 80
        for name in ("prompt", "neg_prompt"):
            self.fields[name].max_length = rules.PROMPT_MAX
            self.fields[name].validators.append(MaxLengthValidator(rules.PROMPT_MAX))
            self.fields[name].help_text = TEMPLATE_HELP
        if not user.is_staff:
            self.fields["scope"].choices = [(Style.Scope.PERSONAL, Style.Scope.PERSONAL.label)]
            self.fields["scope"].help_text = gettext("Team styles are curated by admins.")
        self.loading = set(cats.loading) if cats is not None else {"models", "loras", "sizes"}
        base = cats.base_models if cats is not None else []
        loras = [*(cats.private_models if cats else []), *(cats.loras if cats else [])]
        self.model_names = {m.versionid: m.model_name for m in base}
        self.sizes = [s for sizes in (cats.resolutions if cats else {}).values() for s in sizes if _fits(s)]
        none = pgettext("no setting", "Keep the form's")
        self.fields["versionid"].choices = [("", none), *self._with_kept("versionid", self.model_names.items())]
        lora_names = [(m.versionid, m.model_name) for m in loras]
        self.fields["lora_versionid"].choices = [("", none), *self._with_kept("lora_versionid", lora_names)]
        if self.instance.pk:
            images = sample_choices(self.instance, user)
            self.sample_images = list(images)
            self.fields["sample"].choices = [("", gettext("Automatic: the newest image made with it"))] + [
                (str(image.pk), str(image.pk)) for image in self.sample_images
            ]
            self.initial.setdefault("sample", str(self.instance.sample_image_id or ""))
        else:
            self.sample_images = []
            del self.fields["sample"]

    def _with_kept(self, name: str, listed) -> list[tuple[str, str]]:
        """The catalog's choices, plus the value the style has or the form carries when the list does not name it
        (a list still loading, or a model Miaohua no longer lists): kept, with a warning."""
        choices = list(listed)
        known = {value for value, _label in choices}
        value = self[name].value() if self.is_bound else getattr(self.instance, name, "")
        picker = "models" if name == "versionid" else "loras"
        if value and value not in known and (picker in self.loading or value == getattr(self.instance, name, "")):
            choices.append((value, value))
            self.warnings[name] = gettext("Miaohua's list does not name “%(value)s” now; it is kept as it is.") % {
                "value": value
            }
        return choices

    def clean_name(self):
        name = " ".join((self.cleaned_data.get("name") or "").split())
        if not name:
            raise forms.ValidationError(gettext("Give the style a name."))
        return name

    def clean_output_size(self):
        size = (self.cleaned_data.get("output_size") or "").strip().lower().replace("×", "x").replace(" ", "")
        if not size or size == CUSTOM:
            return ""
        if not _fits(size):
            raise forms.ValidationError(
                gettext("Write the size as width x height, each side %(min)s–%(max)s pixels (e.g. 960x960).")
                % {"min": rules.SIDE[0], "max": rules.SIDE[1]}
            )
        if self.sizes and size not in self.sizes:
            self.warnings["output_size"] = gettext("Not one of Miaohua's preset sizes; it is used as a custom size.")
        return size

    def clean(self):
        data = super().clean()
        scope = data.get("scope")
        if scope == Style.Scope.TEAM and not self.user.is_staff:
            self.add_error("scope", gettext("Only admins can make team styles."))
        if data.get("lora_versionid") and data.get("lora_weight") is None and "lora_weight" not in self.errors:
            self.add_error("lora_weight", gettext("Enter a LoRA weight between 0 and 2."))
        name = data.get("name")
        if name and scope:
            clash = Style.objects.filter(name__iexact=name, scope=scope).exclude(pk=self.instance.pk)
            if scope == Style.Scope.PERSONAL:
                clash = clash.filter(owner=self.instance.owner_id or self.user.pk)
            if clash.exists():
                self.add_error("name", gettext("There is already a style with this name: choose another."))
        if not any(data.get(key) for key in ("prompt", "neg_prompt", *SETTINGS_FIELDS)) and not self.errors:
            self.add_error("prompt", gettext("A style needs a template or at least one setting."))
        return data

    def validate_unique(self):
        """The name clash is said in clean(), beside the name (the database constraint backs it)."""

    @property
    def sample_image(self) -> GeneratedImage | None:
        pk = self.cleaned_data.get("sample")
        return next((image for image in self.sample_images if str(image.pk) == pk), None)


SETTINGS_FIELDS = ("versionid", "lora_versionid", "output_size", "ddim_steps", "scale")


class SaveAsStyleForm(StudioForm):
    """What "Save these settings as a style" asks beside the style form: which of the Generate form's settings the
    style keeps (prefix ``newstyle``)."""

    keep = forms.MultipleChoiceField(
        label=_("Keep these settings"), required=False, choices=KEEP_CHOICES, widget=forms.CheckboxSelectMultiple
    )


def initial_from_generate(post) -> dict:
    """A new style's initial values from the Generate form as posted: the prompt as the template (``{prompt}``
    first when the member did not write it), the negative prompt, and the settings."""
    prompt = (post.get("prompt") or "").strip()
    if Style.PLACEHOLDER not in prompt:
        prompt = ", ".join(part for part in (Style.PLACEHOLDER, prompt) if part)
    size = post.get("output_size") or ""
    if size == CUSTOM:
        size = f"{post.get('width', '')}x{post.get('height', '')}"
    return {
        "prompt": prompt[: rules.PROMPT_MAX],
        "neg_prompt": (post.get("neg_prompt") or "")[: rules.PROMPT_MAX],
        "versionid": post.get("versionid") or "",
        "lora_versionid": post.get("lora_versionid") or "",
        "lora_weight": post.get("lora_weight") or "",
        "output_size": size if size != "x" else "",
        "ddim_steps": post.get("ddim_steps") or "",
        "scale": post.get("scale") or "",
    }


def generate_post_as_style_data(post, prefix: str = "newstyle") -> dict:
    """The style form's data for a save from the Generate form: its own fields (``newstyle-…``) for the name,
    scope and templates; the settings from the Generate form, only those the member keeps."""
    keep = set(post.getlist(f"{prefix}-keep"))
    settings = initial_from_generate(post)
    data = {
        f"{prefix}-name": post.get(f"{prefix}-name", ""),
        f"{prefix}-scope": post.get(f"{prefix}-scope", Style.Scope.PERSONAL),
        f"{prefix}-prompt": post.get(f"{prefix}-prompt", ""),
        f"{prefix}-neg_prompt": post.get(f"{prefix}-neg_prompt", ""),
    }
    for key, field_names in (
        ("versionid", ["versionid"]),
        ("lora", ["lora_versionid", "lora_weight"]),
        ("output_size", ["output_size"]),
        ("ddim_steps", ["ddim_steps"]),
        ("scale", ["scale"]),
    ):
        for name in field_names:
            data[f"{prefix}-{name}"] = settings[name] if key in keep else ""
    return data


def style_save(*, form: StyleForm, user) -> Style:
    """Store a valid style form (new: owned by ``user``); the model's display name kept beside its id."""
    style = form.save(commit=False)
    if not style.pk:
        style.owner = user
    style.model_name = form.model_names.get(style.versionid, style.model_name if style.versionid else "")
    if not style.lora_versionid:
        style.lora_weight = None
    if "sample" in form.fields:
        style.sample_image = form.sample_image
    with transaction.atomic():
        style.save()
    return style


def style_delete(*, style: Style) -> None:
    """Delete a style; the tasks made with it keep its name (``style_names``)."""
    style.delete()
