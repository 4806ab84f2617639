"""task_submit's parameters: the digest's ranges, the vendor's code 129 and a message naming the field.

The fields the document marks required are required: `prompt`, `n_images`, `scale`, a model (`versionid`,
or the deprecated `model_name` alone) and, for text-to-image, `output_size`; a missing one is refused, an
empty string is a value (an empty prompt is fine; `output_size: ""` is not a size).
Accepted besides the documented shape (digest, "Legacy request shapes in the wild"): `model_name` alone
(mapped to a base model's versionid, "Artist v0.3.0 Beta" being the Artist model, a catalog name with or
without the " Beta" public clients add), no `strength` (0.6, as the vendor's own sample client sends),
`output_size` sides from 512 (digest, decision 5: the live service takes the form's 512 presets),
`controlnet_model: ""` (or a unit name, applied to init_img), lora entries with an empty versionid
(skipped, as in the vendor's curl sample), and the later revisions' `callback_url`, `enable_lcm`,
`outpaint_config` (ignored). Unknown fields are ignored. Numbers must be JSON numbers, not strings."""

import math
import re
from dataclasses import dataclass, field

from django.conf import settings

from miaohua_site.simulator import catalog
from miaohua_site.simulator.errors import ApiError, illegal, require
from miaohua_site.simulator.models import SimAccount, SimModel, SimUpload
from miaohua_site.simulator.services import training, uploads

MAX_PROMPT = 1000
SIZE_FORMAT = re.compile(r"(\d{1,6})x(\d{1,6})")
MIN_SIDE, MAX_SIDE = 512, 6144  # documented 640-6144; the live service takes the form's 512 (decision 5)
MAX_SEED = 9_999_999
MAX_CN = 3


@dataclass
class ControlUnit:
    cn: str
    weight: float
    guidance_start: float
    guidance_end: float
    upload: SimUpload
    config: dict


@dataclass
class SubmitParams:
    base: SimModel
    prompt: str
    neg_prompt: str = ""
    n_images: int = 2
    scale: int = 7
    strength: float = 0.6
    ddim_steps: int = 50
    select_seed: int = -1
    width: int | None = None
    height: int | None = None
    init: SimUpload | None = None
    add_prompt: bool = False
    controls: list[ControlUnit] = field(default_factory=list)
    loras: list[tuple[SimModel, float]] = field(default_factory=list)

    @property
    def task_type(self) -> str:
        return "img2img" if self.init else "txt2img"


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value) -> bool:
    return (is_int(value) or isinstance(value, float)) and math.isfinite(value)


def int_in(value, name: str, low: int, high: int) -> int:
    if not is_int(value):
        raise illegal(f"{name} must be an integer from {low} to {high}, got {value!r}")
    if not low <= value <= high:
        raise illegal(f"{name} must be from {low} to {high}, got {value}")
    return value


def number_in(value, name: str, low: float, high: float) -> float:
    if not is_number(value):
        raise illegal(f"{name} must be a number from {low} to {high}, got {value!r}")
    if not low <= value <= high:
        raise illegal(f"{name} must be from {low} to {high}, got {value}")
    return float(value)


def text(value, name: str, max_length: int | None = None) -> str:
    if not isinstance(value, str):
        raise illegal(f"{name} must be a string, got {value!r}")
    if max_length is not None and len(value) > max_length:
        raise illegal(f"{name} is {len(value)} characters long; at most {max_length} are allowed")
    return value


def output_size(value, name: str = "output_size") -> tuple[int, int]:
    match = SIZE_FORMAT.fullmatch(value) if isinstance(value, str) else None
    if not match:
        raise illegal(f'{name} must be "WxH" like "960x960", got {value!r}')
    width, height = int(match[1]), int(match[2])
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        raise illegal(f"{name}: each side must be from {MIN_SIDE} to {MAX_SIDE}, got {value!r}")
    return width, height


def task_submit_params(account: SimAccount, body: dict) -> SubmitParams:
    base = _base_model(body)
    get = body.get
    params = SubmitParams(
        base=base,
        prompt=text(require(body, "prompt"), "prompt", MAX_PROMPT),
        neg_prompt=text(get("neg_prompt", "") or "", "neg_prompt", MAX_PROMPT),
        n_images=int_in(require(body, "n_images", hint="1 to 8"), "n_images", 1, 8),
        scale=int_in(require(body, "scale", hint="1 to 20"), "scale", 1, 20),
        strength=number_in(get("strength", 0.6), "strength", 0, 1),
        ddim_steps=int_in(get("ddim_steps", 50), "ddim_steps", 1, 150),
    )
    seed = get("select_seed", -1)
    if not (is_int(seed) and (seed == -1 or 0 <= seed <= MAX_SEED)):
        raise illegal(f"select_seed must be -1 (random) or an integer from 0 to {MAX_SEED}, got {seed!r}")
    params.select_seed = seed
    add_prompt = get("add_prompt", False)
    if not isinstance(add_prompt, bool):
        raise illegal(f"add_prompt must be true or false, got {add_prompt!r}")
    params.add_prompt = add_prompt

    init_url = get("init_img") or ""
    if init_url:
        params.init = _issued_upload(account, init_url, "init_img")
    size = get("output_size")
    if size is not None:
        params.width, params.height = output_size(size)
    elif params.init is None:
        raise illegal('output_size is required for text-to-image (no init_img), e.g. "960x960"')
    else:
        params.width, params.height = params.init.width, params.init.height

    params.controls = _controls(account, body, base, params.init)
    params.loras = _loras(account, get("lora_configs"))

    marker = settings.MIAOHUA_SIMULATOR_SENSITIVE_MARKER
    if marker and (marker.lower() in params.prompt.lower() or marker.lower() in params.neg_prompt.lower()):
        raise ApiError(430, "prompt contains sensitive content")
    return params


def _base_model(body: dict) -> SimModel:
    versionid, model_name = body.get("versionid"), body.get("model_name")
    legacy = versionid in (None, "") and model_name is not None  # "model_name alone, versionid empty"
    if not legacy:
        require(body, "versionid", hint="see models/base")
        text(versionid, "versionid")
        base = catalog.base_model_by_versionid(versionid)
        if base is None:
            raise illegal(f"versionid {versionid!r} is not a base model (see models/base)")
        return base
    text(model_name, "model_name")
    base = catalog.base_model_by_name(model_name)
    if base is None:
        raise illegal(f"model_name {model_name!r} is not a base model (see models/base); send versionid")
    return base


def _issued_upload(account: SimAccount, url, name: str) -> SimUpload:
    if not isinstance(url, str):
        raise illegal(f"{name} must be an image URL from upload_img(s), got {url!r}")
    upload = uploads.upload_from_url(account, url)
    if upload is None:
        raise illegal(f"{name} is not an image uploaded by this account (use upload_img or upload_imgs)")
    return upload


def _controls(account: SimAccount, body: dict, base: SimModel, init: SimUpload | None) -> list[ControlUnit]:
    list_name, allowed = catalog.cn_list_for(base)
    units = []
    legacy = body.get("controlnet_model") or ""
    if legacy:
        text(legacy, "controlnet_model")
        if legacy not in allowed:
            raise illegal(f"controlnet_model {legacy!r} is not in cn/{list_name} for {base.model_name}")
        if init is None:
            raise illegal("controlnet_model needs init_img: the legacy unit controls with the init image")
        units.append(ControlUnit(legacy, 1.0, 0.0, 1.0, init, {}))

    configs = body.get("cn_configs")
    if configs is None:
        return units
    if not isinstance(configs, list):
        raise illegal(f"cn_configs must be a list of ControlNet units, got {type(configs).__name__}")
    if len(configs) + len(units) > MAX_CN:
        raise illegal(f"cn_configs: at most {MAX_CN} ControlNet units, got {len(configs) + len(units)}")
    for i, unit in enumerate(configs):
        where = f"cn_configs[{i}]"
        if not isinstance(unit, dict):
            raise illegal(f"{where} must be an object")
        name = text(unit.get("cn"), f"{where}.cn")
        if name not in allowed:
            raise illegal(
                f"{where}.cn {name!r} is not in cn/{list_name}, the list for {base.model_name} "
                f"(is_opensource={str(base.is_opensource).lower()}): {', '.join(allowed)}"
            )
        weight = number_in(unit.get("weight", 1), f"{where}.weight", 0, 2)
        start = number_in(unit.get("guidance_start", 0), f"{where}.guidance_start", 0, 1)
        end = number_in(unit.get("guidance_end", 1), f"{where}.guidance_end", 0, 1)
        if start > end:
            raise illegal(f"{where}.guidance_start ({start}) must not be after guidance_end ({end})")
        image = unit.get("img")
        if not image:
            raise illegal(f"{where}.img is required: an image URL from upload_img(s)")
        upload = _issued_upload(account, image, f"{where}.img")
        units.append(
            ControlUnit(name, weight, start, end, upload, _cn_config(name, unit.get("config"), where))
        )
    return units


def _cn_config(name: str, config, where: str) -> dict:
    if config in (None, {}):
        return {}
    if not isinstance(config, dict):
        raise illegal(f"{where}.config must be an object")
    processors = catalog.CONTROL_PROCESSORS.get(name)
    if processors is None:
        raise illegal(f"{where}.config: {name} takes no config")
    numbers = catalog.CN_CONFIG_NUMBERS.get(name, {})
    unknown = set(config) - {"control_processor", *numbers}
    if unknown:
        raise illegal(f"{where}.config.{sorted(unknown)[0]} is not a setting of {name}")
    clean = {}
    if "control_processor" in config:
        processor = config["control_processor"]
        if processor not in processors:
            raise illegal(
                f"{where}.config.control_processor {processor!r} is not one of {', '.join(processors)}"
            )
        clean["control_processor"] = processor
    for key, (low, high, default, kind) in numbers.items():
        value = config.get(key, default)
        checker = int_in if kind is int else number_in
        clean[key] = checker(value, f"{where}.config.{key}", low, high)
    return clean


def _loras(account: SimAccount, configs) -> list[tuple[SimModel, float]]:
    if configs is None:
        return []
    if not isinstance(configs, list):
        raise illegal(f"lora_configs must be a list, got {type(configs).__name__}")
    if configs:
        training.trainings_settle(account=account)  # a training that just finished brings its LoRA
    loras = []
    for i, entry in enumerate(configs):
        where = f"lora_configs[{i}]"
        if not isinstance(entry, dict):
            raise illegal(f"{where} must be an object")
        versionid = entry.get("versionid")
        if versionid in (None, ""):
            continue  # the vendor's own curl sample sends {"versionid": ""}
        text(versionid, f"{where}.versionid")
        weight = number_in(entry.get("merge_weight", 1), f"{where}.merge_weight", 0, 2)
        lora = (
            SimModel.objects.filter(versionid=versionid, kind=SimModel.Kind.LORA).first()
            or SimModel.objects.filter(versionid=versionid, kind=SimModel.Kind.PRIVATE, owner=account).first()
        )
        if lora is None:
            raise illegal(f"{where}.versionid {versionid!r} is not in models/lora or your models/private")
        loras.append((lora, weight))
    return loras
