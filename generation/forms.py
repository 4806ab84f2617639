"""The Generate form: every task_submit option, named as the vendor names them, checked on the server."""

import json
import uuid

from django import forms
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _

from generation import vendor_rules as rules
from miaohua_site.forms import StudioForm
from miaohua_site.params import IdField

CUSTOM = "custom"
SAME_AS_INIT = ""

# The Generate form's pickers whose choices come from a vendor catalog (generation.catalog.GENERATE_PICKERS).
PICKER_WORDS = {
    "models": _("model list"),
    "loras": _("LoRA list"),
    "sizes": _("output sizes"),
    "controlnets": _("ControlNet types"),
}
PLURAL_WORDS = {"sizes", "controlnets"}  # "are" in English even alone
LOADING_ONE = _(
    "Miaohua's {lists} is still loading: everything you entered is kept — press Generate again in a moment."
)
LOADING_MANY = _(
    "Miaohua's {lists} are still loading: everything you entered is kept — press Generate again in a moment."
)


def _number(widget_step=None, **attrs):
    if widget_step is not None:
        attrs["step"] = widget_step
    return forms.NumberInput(attrs=attrs)


class ImageSourceMixin:
    """An image given three ways: a new upload, an earlier upload (`<prefix>_input`), or a history image
    (`<prefix>_from`). The view resolves them; the form checks the upload itself."""

    def _check_upload(self, name):
        file = self.cleaned_data.get(name)
        if file:
            self.cleaned_data[f"{name}_size"] = rules.check_upload_image(file)
        return file


def lora_mismatch_message(lora: str, made_for: str, chosen: str) -> str:
    return gettext(
        "The LoRA %(lora)s was made for %(made_for)s, not %(chosen)s: choose %(made_for)s for the results it was "
        "made for."
    ) % {"lora": lora, "made_for": made_for, "chosen": chosen}


class GenerateForm(ImageSourceMixin, StudioForm):
    errors_above = ("mode",)  # its radios are drawn as buttons, with no place for a message

    idempotency_key = forms.UUIDField(
        widget=forms.HiddenInput,
        error_messages={
            "required": _("This form has lost its one-time key (a hidden field): reload the page and submit again."),
            "invalid": _("This form's one-time key (a hidden field) is damaged: reload the page and submit again."),
        },
    )
    versionid = forms.ChoiceField(label=_("Base model"), widget=forms.RadioSelect)
    prompt = forms.CharField(
        label=_("Prompt"),
        max_length=rules.PROMPT_MAX,
        widget=forms.Textarea(
            attrs={
                "rows": 4,
                "maxlength": rules.PROMPT_MAX,
                "data-counter": "",
                "placeholder": _("A lighthouse on a cliff at dusk, volumetric light"),
            }
        ),
    )
    neg_prompt = forms.CharField(
        label=_("Negative prompt"),
        max_length=rules.PROMPT_MAX,
        required=False,
        widget=forms.Textarea(
            attrs={
                "rows": 2,
                "maxlength": rules.PROMPT_MAX,
                "data-counter": "",
                "placeholder": _("What to keep out: blurry, text, watermark"),
            }
        ),
    )
    n_images = forms.IntegerField(label=_("Images"), min_value=1, max_value=8, initial=2, widget=_number(min=1, max=8))
    scale = forms.IntegerField(
        label=_("Guidance scale"), min_value=1, max_value=20, initial=7, widget=_number(min=1, max=20)
    )
    ddim_steps = forms.IntegerField(
        label=_("Steps"),
        min_value=rules.STEPS[0],
        max_value=rules.STEPS[1],
        initial=50,
        widget=_number(min=rules.STEPS[0], max=rules.STEPS[1]),
    )
    select_seed = forms.IntegerField(
        label=_("Seed"),
        min_value=-1,
        max_value=rules.SEED[1],
        initial=-1,
        widget=_number(min=-1, max=rules.SEED[1]),
        help_text=_("-1 picks a random seed."),
    )
    keep_seed = forms.BooleanField(label=_("Keep this seed"), required=False)
    output_size = forms.ChoiceField(label=_("Output size"), required=False)
    width = forms.IntegerField(
        label=_("Width"),
        required=False,
        min_value=rules.SIDE[0],
        max_value=rules.SIDE[1],
        widget=_number(8, min=rules.SIDE[0], max=rules.SIDE[1], placeholder=_("Width")),
    )
    height = forms.IntegerField(
        label=_("Height"),
        required=False,
        min_value=rules.SIDE[0],
        max_value=rules.SIDE[1],
        widget=_number(8, min=rules.SIDE[0], max=rules.SIDE[1], placeholder=_("Height")),
    )
    add_prompt = forms.BooleanField(
        label=_("Let Miaohua improve my prompt"),
        required=False,
        help_text=_("The vendor rewrites the prompt with its language model (slower)."),
    )
    mode = forms.ChoiceField(
        label=_("Mode"),
        choices=[("txt2img", _("Text to image")), ("img2img", _("Image to image"))],
        initial="txt2img",
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose a mode: text to image or image to image."),
            "invalid_choice": _("Choose a mode: text to image or image to image (“%(value)s” is neither)."),
        },
    )
    init_image = forms.FileField(
        label=_("Init image"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(rules.UPLOAD_EXTENSIONS)}),
    )
    init_image_input = IdField(required=False, what=_("The chosen init image"))
    init_image_from = IdField(required=False, what=_("The chosen init image"))
    strength = forms.FloatField(
        label=_("Image strength"),
        min_value=0,
        max_value=1,
        initial=0.6,
        required=False,
        widget=_number(0.05, min=0, max=1),
        help_text=_("How much of the init image to keep (0–1)."),
    )
    lora_versionid = forms.ChoiceField(label=_("LoRA"), required=False)
    lora_weight = forms.FloatField(
        label=_("LoRA weight"),
        min_value=0,
        max_value=2,
        initial=0.8,
        required=False,
        widget=_number(0.05, min=0, max=2),
    )
    sensitive_limit_value = forms.FloatField(
        label=_("Content filter strictness"),
        min_value=0,
        max_value=1,
        initial=0,
        required=False,
        widget=_number(0.05, min=0, max=1),
        help_text=_("0 is Miaohua's default; higher is stricter. Saved for you."),
    )

    def __init__(self, *args, base_models=(), loras=(), private_models=(), resolutions=None, loading=(), **kwargs):
        """``loading``: the pickers whose catalog has not arrived yet (their value is kept, and the form does not
        submit until they are here)."""
        super().__init__(*args, **kwargs)
        self.loading = set(loading)
        self.base_models = {m.versionid: m for m in base_models}
        self.fields["versionid"].choices = [(m.versionid, m.model_name) for m in base_models]
        lora_choices = [("", pgettext("no LoRA", "None"))]
        if private_models:
            lora_choices.append((gettext("Your models"), [(m.versionid, m.model_name) for m in private_models]))
        if loras:
            lora_choices.append((gettext("Public LoRAs"), [(m.versionid, m.model_name) for m in loras]))
        self.fields["lora_versionid"].choices = lora_choices
        self.presets = self._presets(resolutions or {})
        self.fields["output_size"].choices = [
            (SAME_AS_INIT, gettext("Same as the init image (image to image)")),
            *[(ratio, [(size, size.replace("x", " × ")) for size in sizes]) for ratio, sizes in self.presets.items()],
            (CUSTOM, gettext("Custom…")),
        ]
        self.lora_models = {m.versionid: m for m in [*loras, *private_models]}
        if not self.is_bound and not self.initial.get("versionid") and self.initial.get("lora_versionid"):
            # "Generate with this" for a LoRA: the base model it was made for (the catalog's, else the hint).
            lora = self.lora_models.get(self.initial["lora_versionid"])
            base = self.base_model_named((lora.base_model if lora else "") or self.initial.get("lora_base", ""))
            if base is not None:
                self.initial["versionid"] = base.versionid
        if not self.initial.get("versionid") and base_models:
            default = "sgl_artist_v0.3.5_0925"  # the vendor's documented default
            self.initial["versionid"] = default if default in self.base_models else base_models[0].versionid
        if "sizes" in self.loading:
            size = self.initial.get("output_size")
            if not self.is_bound and size and "x" in size:  # ready in the custom fields, whatever the presets
                self.initial.setdefault("width", size.partition("x")[0])
                self.initial.setdefault("height", size.partition("x")[2])
        else:
            if "output_size" not in self.initial:
                flat = [size for sizes in self.presets.values() for size in sizes]
                documented = [size for size in flat if not size_warning(size)]  # no warning by default
                self.initial["output_size"] = "960x960" if "960x960" in flat else (documented or flat or [CUSTOM])[0]
            size = self.initial.get("output_size")
            if not self.is_bound and size and all(size not in sizes for sizes in self.presets.values()):
                self.initial["output_size"] = CUSTOM  # a size that is no preset: show it in the custom fields
                self.initial["width"], _x, self.initial["height"] = size.partition("x")
        # A list still loading keeps the value as it is (a placeholder carries it) until the list is here.
        for picker, name in (("models", "versionid"), ("loras", "lora_versionid"), ("sizes", "output_size")):
            value = self[name].value() if picker in self.loading else None
            if value and isinstance(value, str):
                self.fields[name].choices = [*self.fields[name].choices, (value, value)]
        if not self.is_bound and not self.initial.get("idempotency_key"):
            self.initial["idempotency_key"] = uuid.uuid4()

    def waiting_for(self) -> list[str]:
        """The lists this (posted) form needs that are still loading."""
        data = self.data
        needed = {
            "models": True,
            "loras": bool(data.get("lora_versionid")),
            "sizes": data.get("output_size") not in (None, SAME_AS_INIT, CUSTOM),
            "controlnets": any(key.startswith("cn-") and key.endswith("-cn") for key in data),
        }
        return [picker for picker in PICKER_WORDS if picker in self.loading and needed[picker]]

    @staticmethod
    def _presets(resolutions: dict) -> dict[str, list[str]]:
        """The form's presets grouped by ratio, keeping only sizes Miaohua accepts (512–6144 a side)."""
        kept = {}
        for ratio, sizes in resolutions.items():
            fitting = [s for s in sizes if _fits(s)]
            if fitting:
                kept[ratio] = fitting
        return kept

    documented_min_side = rules.DOCUMENTED_MIN_SIDE

    @property
    def small_size_warning(self) -> str:
        return SMALL_SIZE_WARNING.format(floor=rules.DOCUMENTED_MIN_SIDE, top=rules.SIDE[1])

    @property
    def output_size_warning(self) -> str:
        """A warning (not an error) beside the size when a side is below the documented 640 (digest decision 5)."""
        if self.is_bound:
            data = getattr(self, "cleaned_data", None) or {}
            size = data.get("output_size") or self.data.get("output_size") or ""
            if size == CUSTOM:
                size = f"{self.data.get('width', '')}x{self.data.get('height', '')}"
        else:
            size = self.initial.get("output_size") or ""
            if size == CUSTOM:
                size = f"{self.initial.get('width', '')}x{self.initial.get('height', '')}"
        return size_warning(str(size))

    @property
    def selected_model(self):
        return self.base_models.get(self.data.get("versionid") or self.initial.get("versionid") or "")

    def base_model_named(self, name: str):
        """The base model a LoRA's ``base_model`` names: by its name (as the vendor lists LoRAs) or versionid."""
        wanted = (name or "").strip().casefold()
        if not wanted:
            return None
        for model in self.base_models.values():
            if wanted in (model.model_name.strip().casefold(), model.versionid.casefold()):
                return model
        return None

    @property
    def selected_lora(self):
        value = self.data.get("lora_versionid") if self.is_bound else self.initial.get("lora_versionid")
        return self.lora_models.get(value or "")

    @property
    def lora_made_for_json(self) -> str:
        """For the page's live warning (app.js): each LoRA's base model as the vendor names it (LoRA versionid →
        [base model, LoRA name]), and the warning's wording with {lora}, {made_for} and {chosen} to fill in."""
        made_for = {m.versionid: [m.base_model, m.model_name] for m in self.lora_models.values() if m.base_model}
        return json.dumps({"loras": made_for, "message": lora_mismatch_message("{lora}", "{made_for}", "{chosen}")})

    @property
    def lora_mismatch(self) -> str:
        """A warning when the chosen LoRA was made for another base model than the one chosen ("" when it fits,
        or when the base model it names is not one we list)."""
        lora, model = self.selected_lora, self.selected_model
        if lora is None or model is None:
            return ""
        made_for = self.base_model_named(lora.base_model)
        if made_for is None or made_for == model:  # a base model we do not list: nothing to compare with
            return ""
        return lora_mismatch_message(lora.model_name, made_for.model_name, model.model_name)

    def clean_init_image(self):
        return self._check_upload("init_image")

    def clean(self):
        data = super().clean()
        mode = data.get("mode")
        size = data.get("output_size")
        sides = {"min": rules.SIDE[0], "max": rules.SIDE[1]}
        if size == CUSTOM:
            width, height = data.get("width"), data.get("height")
            if not width and "width" not in self.errors:
                self.add_error("width", gettext("Enter a width of %(min)s–%(max)s pixels.") % sides)
            if not height and "height" not in self.errors:
                self.add_error("height", gettext("Enter a height of %(min)s–%(max)s pixels.") % sides)
            if width and height:
                data["output_size"] = f"{width}x{height}"
        elif size == SAME_AS_INIT and mode != "img2img":
            self.add_error(
                "output_size", gettext("Choose an output size: only image to image can keep the init image's size.")
            )
        elif size and not _fits(size):
            self.add_error(
                "output_size", gettext("Each side must be %(min)s–%(max)s pixels (what Miaohua accepts).") % sides
            )
        if mode == "img2img":
            given = data.get("init_image") or data.get("init_image_input") or data.get("init_image_from")
            if not given and "init_image" not in self.errors:  # a refused upload already says why
                self.add_error(
                    "init_image",
                    gettext("Image to image needs an init image: upload one or pick one from your history."),
                )
            if data.get("strength") is None and "strength" not in self.errors:
                self.add_error("strength", gettext("Enter an image strength between 0 and 1."))
        if data.get("lora_versionid") and data.get("lora_weight") is None and "lora_weight" not in self.errors:
            self.add_error("lora_weight", gettext("Enter a LoRA weight between 0 and 2."))
        waiting = self.waiting_for()
        if waiting:
            words = [str(PICKER_WORDS[picker]) for picker in waiting]
            if len(words) == 1:
                lists = words[0]
            else:
                separator = pgettext("between the items of a list", ", ")
                lists = gettext("%(items)s and %(last)s") % {"items": separator.join(words[:-1]), "last": words[-1]}
            one = len(waiting) == 1 and waiting[0] not in PLURAL_WORDS
            self.add_error("versionid", str(LOADING_ONE if one else LOADING_MANY).format(lists=lists))
        return data


SMALL_SIZE_WARNING = _(
    "A side below {floor} pixels is outside Miaohua's documented range ({floor}–{top}). Miaohua accepts it today, "
    "but the picture may come out less detailed."
)


def _sides(size: str) -> tuple[int, int] | None:
    try:
        width, height = (int(part) for part in size.lower().split("x"))
    except ValueError:
        return None
    return width, height


def size_warning(size: str) -> str:
    """What to say about an accepted size below the documented floor; "" for any other size."""
    sides = _sides(size)
    if sides is None or not _fits(size) or min(sides) >= rules.DOCUMENTED_MIN_SIDE:
        return ""
    return SMALL_SIZE_WARNING.format(floor=rules.DOCUMENTED_MIN_SIDE, top=rules.SIDE[1])


def _fits(size: str) -> bool:
    sides = _sides(size)
    if sides is None:
        return False
    width, height = sides
    return rules.SIDE[0] <= width <= rules.SIDE[1] and rules.SIDE[0] <= height <= rules.SIDE[1]


class ControlNetForm(ImageSourceMixin, StudioForm):
    """One ControlNet unit (prefix `cn-<i>`); processor choices and options depend on the type."""

    cn = forms.ChoiceField(label=_("Type"))
    control_processor = forms.ChoiceField(label=_("Processor"), required=False)
    low_threshold = forms.IntegerField(
        label=_("Low threshold"),
        min_value=1,
        max_value=255,
        initial=100,
        required=False,
        widget=_number(min=1, max=255),
    )
    high_threshold = forms.IntegerField(
        label=_("High threshold"),
        min_value=1,
        max_value=255,
        initial=200,
        required=False,
        widget=_number(min=1, max=255),
    )
    down_sample_rate = forms.DecimalField(
        label=_("Down-sample rate"),
        min_value=1,
        max_value=8,
        decimal_places=2,
        initial=1,
        required=False,
        widget=_number(0.01, min=1, max=8),
    )
    weight = forms.FloatField(
        label=_("Weight"), min_value=0, max_value=2, initial=1, widget=_number(0.05, min=0, max=2)
    )
    guidance_start = forms.FloatField(
        label=_("Start"), min_value=0, max_value=1, initial=0, widget=_number(0.05, min=0, max=1)
    )
    guidance_end = forms.FloatField(
        label=_("End"), min_value=0, max_value=1, initial=1, widget=_number(0.05, min=0, max=1)
    )
    image = forms.FileField(
        label=_("Control image"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(rules.UPLOAD_EXTENSIONS)}),
    )
    image_input = IdField(required=False, what=_("The chosen control image"))
    image_from = IdField(required=False, what=_("The chosen control image"))

    def __init__(self, *args, controlnets=(), loading=False, **kwargs):
        """``loading``: the ControlNet lists have not arrived yet; the unit keeps its type as it is meanwhile."""
        super().__init__(*args, **kwargs)
        self.fields["cn"].choices = [(c.name, c.local_name or c.name) for c in controlnets]
        kept = self.data.get(self.add_prefix("cn")) if self.is_bound else self.initial.get("cn")
        if loading and kept and isinstance(kept, str):
            self.fields["cn"].choices = [*self.fields["cn"].choices, (kept, kept)]
        self.fields["control_processor"].choices = [(p, p) for p in rules.CN_PROCESSORS.get(self.cn_type, [])]

    @property
    def cn_type(self) -> str:
        if self.is_bound:
            return self.data.get(self.add_prefix("cn"), "")
        return self.initial.get("cn") or (self.fields["cn"].choices[0][0] if self.fields["cn"].choices else "")

    @property
    def options(self) -> list[str]:
        return rules.CN_OPTIONS.get(self.cn_type, [])

    @property
    def processors(self) -> list[str]:
        return rules.CN_PROCESSORS.get(self.cn_type, [])

    def clean_image(self):
        return self._check_upload("image")

    def clean(self):
        data = super().clean()
        cn = data.get("cn")
        start, end = data.get("guidance_start"), data.get("guidance_end")
        if start is not None and end is not None and start > end:
            self.add_error("guidance_end", gettext("The end must not come before the start."))
        if cn in rules.CN_PROCESSORS and not data.get("control_processor") and "control_processor" not in self.errors:
            self.add_error("control_processor", gettext("Choose a processor."))
        low, high = data.get("low_threshold"), data.get("high_threshold")
        if cn == "canny" and low is not None and high is not None and low > high:
            self.add_error("high_threshold", gettext("The high threshold must be at least the low threshold."))
        if not (data.get("image") or data.get("image_input") or data.get("image_from")) and "image" not in self.errors:
            self.add_error("image", gettext("Give this ControlNet an image: upload one or pick one from your history."))
        return data

    def vendor_config(self, img_ref: str) -> dict:
        data = self.cleaned_data
        unit = {
            "cn": data["cn"],
            "weight": data["weight"],
            "guidance_start": data["guidance_start"],
            "guidance_end": data["guidance_end"],
            "img": img_ref,
        }
        if data["cn"] in rules.CN_PROCESSORS:
            config = {"control_processor": data["control_processor"]}
            for option in rules.CN_OPTIONS.get(data["cn"], []):
                value = data.get(option)
                if value is None:
                    value = self.fields[option].initial
                config[option] = float(value) if option == "down_sample_rate" else value
            unit["config"] = config
        return unit


class DescribeForm(ImageSourceMixin, StudioForm):
    image = forms.FileField(
        label=_("Image"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(rules.UPLOAD_EXTENSIONS)}),
    )
    image_from = IdField(required=False, what=_("The chosen image"))

    def clean_image(self):
        return self._check_upload("image")

    def clean(self):
        data = super().clean()
        if not data.get("image") and not data.get("image_from") and "image" not in self.errors:
            self.add_error("image", gettext("Upload an image or pick one from your history."))
        return data
