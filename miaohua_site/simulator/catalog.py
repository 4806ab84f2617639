"""What the vendor offers: base models, public LoRAs, ControlNet units and the two forms.

The models are rows (SimModel) so private LoRAs from trainings sit beside them; they and the configured
accounts are seeded lazily by `ensure_seeded()`, which every API call runs: tests flush the tables
between cases, so a data migration alone would not do."""

import hashlib

from django.conf import settings
from django.db import IntegrityError

from miaohua_site.simulator import db
from miaohua_site.simulator.models import SimAccount, SimModel, SimSeedMarker

SEED_VERSION = "2"
DEFAULT_VERSIONID = "sgl_artist_v0.3.5_0925"
DEMO_ACCOUNT = ("demo@example.com", "demo")

BASE_MODELS = [
    {
        "model_id": 1,
        "versionid": "sgl_artist_v0.3.5_0925",
        "model_name": "Artist v0.3.5",
        "tag": "official",
        "author": "SenseTime",
        "description": "SenseTime's own painting model; understands Chinese and English prompts.",
        "is_opensource": False,
    },
    {
        "model_id": 2,
        "versionid": "sgl_artist_turbo_v1.0_1120",
        "model_name": "Artist Turbo v1.0",
        "tag": "official",
        "author": "SenseTime",
        "description": "Few-step turbo model: a 1080p picture in 2-5 s.",
        "is_opensource": False,
    },
    {
        "model_id": 3,
        "versionid": "sdxl_base_v1.0",
        "model_name": "SDXL 1.0",
        "tag": "upload",
        "author": "Stability AI",
        "description": "Stable Diffusion XL base model, open source.",
        "is_opensource": True,
    },
    {
        "model_id": 4,
        "versionid": "meinamix_meinaV11",
        "model_name": "meinamix_meinaV11",
        "tag": "upload",
        "author": "Meina",
        "description": "Anime-style open-source checkpoint.",
        "is_opensource": True,
    },
    {
        "model_id": 5,
        "versionid": "anything_v3_fp16_train",
        "model_name": "Anything V3_fp16_train",
        "tag": "upload",
        "author": "Linaqruf",
        "description": "Anime illustration checkpoint, open source.",
        "is_opensource": True,
    },
    {
        "model_id": 6,
        "versionid": "dalcefo_painting_v3",
        "model_name": "Dalcefo",
        "tag": "upload",
        "author": "dalcefo",
        "description": "Painterly portraits, open source.",
        "is_opensource": True,
    },
]

LORAS = [
    ("lora_babyroy_v1", "Baby Roy盲盒", "Artist v0.3.5", False, "Blind-box toy figurines."),
    ("lora_watercolor_v2", "Watercolor Wash", "SDXL 1.0", True, "Soft watercolour washes and paper grain."),
    ("lora_ink_sketch_v1", "Ink Sketch", "Artist v0.3.5", False, "Pen-and-ink line drawings."),
    ("lora_neon_cyber_v3", "Neon Cyberpunk", "SDXL 1.0", True, "Neon-lit night cities."),
    ("lora_paper_cut_v1", "Paper Cut", "Artist v0.3.5", False, "Chinese paper-cut silhouettes."),
    ("lora_pixel_art_v2", "Pixel Art", "meinamix_meinaV11", True, "Crisp 16-bit pixel art."),
    (
        "lora_guofeng_v1",
        "Guofeng Portrait 国风",
        "Artist v0.3.5",
        False,
        "Traditional Chinese portrait style.",
    ),
]

# Names the deprecated `model_name`-only requests use for a base model (task_submit's documented default).
LEGACY_MODEL_NAMES = {"artist v0.3.0 beta": DEFAULT_VERSIONID}
BETA = " beta"  # the suffix the vendor's form and public clients put on catalog names

# ControlNet units: name → (local_name, desc). Which list applies depends on the base model's is_opensource.
# Both have brightness: the vendor's multi-cn sample uses it with an open-source model.
CN_ARTIST = {
    "canny": ("Edges", "Canny: keeps the outlines of the reference picture."),
    "lineart": ("Line art", "Lineart: follows the line drawing extracted from the reference."),
    "lineart_anime": ("Anime line art", "Anime lineart: line extraction tuned for illustrations."),
    "openpose": ("Pose", "Openpose: extracts the character's pose and draws a new figure in it."),
    "tile": ("Detail", "Tile: adds detail while keeping the composition (upscaling)."),
    "brightness": ("Brightness", "Brightness: follows the light and dark areas of the reference."),
}
CN_OPENSOURCE = {
    "canny": ("Edges", "Canny: keeps the outlines of the reference picture."),
    "lineart": ("Line art", "Lineart: follows the line drawing extracted from the reference."),
    "openpose": ("Pose", "Openpose: extracts the character's pose and draws a new figure in it."),
    "tile": ("Detail", "Tile: adds detail while keeping the composition (upscaling)."),
    "brightness": ("Brightness", "Brightness: follows the light and dark areas of the reference."),
    "depth": ("Depth", "Depth: keeps the spatial layout of the reference."),
    "scribble": ("Scribble", "Scribble: turns a rough sketch into a picture."),
}
CN_LISTS = {"artist": CN_ARTIST, "opensource": CN_OPENSOURCE}

# `config.control_processor` choices, and each unit's numeric config: name → (min, max, default, type).
CONTROL_PROCESSORS = {
    "canny": ["canny", "invert"],
    "lineart": ["lineart_realistic", "lineart_coarse", "lineart_standard", "invert"],
    "lineart_anime": ["lineart_anime", "lineart_anime_denoise"],
    "openpose": [
        "dw_openpose_full",
        "openpose",
        "openpose_face",
        "openpose_faceonly",
        "openpose_full",
        "openpose_hand",
    ],
    "tile": ["tile_colorfix", "tile_colorfix_sharp", "tile_resample"],
}
CN_CONFIG_NUMBERS = {
    "canny": {"low_threshold": (1, 255, 100, int), "high_threshold": (1, 255, 200, int)},
    "tile": {"down_sample_rate": (1, 8, 1, float)},
}

TRAIN_AUTO_BASE_MODEL = "自动选择"  # "choose automatically", the value of the vendor's own sample
TRAIN_BASE_MODELS = [TRAIN_AUTO_BASE_MODEL, "Artist v0.3.5", "SDXL 1.0", "meinamix_meinaV11"]
TRAIN_MAIN_BODIES = ["Style", "Human", "Architecture", "Plants", "Animals"]

RESOLUTIONS = {
    "1:1": ["512x512", "640x640", "768x768", "1024x1024"],
    "2:3": ["512x768", "640x960", "768x1152", "1024x1536"],
    "3:2": ["768x512", "960x640", "1152x768", "1536x1024"],
}


def configured_accounts() -> list[tuple[str, str]]:
    """The demo account plus MIAOHUA_SIMULATOR_ACCOUNTS ("email:password,email:password"), read now."""
    accounts = dict([DEMO_ACCOUNT])
    for item in (getattr(settings, "MIAOHUA_SIMULATOR_ACCOUNTS", "") or "").split(","):
        email, sep, password = item.strip().partition(":")
        if email and sep:
            accounts[email.strip().lower()] = password.strip()
    return list(accounts.items())


def ensure_seeded() -> None:
    """Put the catalog and the configured accounts in the tables; one cheap query when already done."""
    accounts = configured_accounts()
    key = hashlib.sha256(repr((SEED_VERSION, sorted(accounts))).encode()).hexdigest()
    if SimSeedMarker.objects.filter(key=key).exists():
        return
    try:
        with db.atomic():
            _seed(accounts)
            SimSeedMarker.objects.get_or_create(key=key)
    except IntegrityError:  # another process seeded at the same moment
        pass


def _seed(accounts: list[tuple[str, str]]) -> None:
    for spec in BASE_MODELS:
        SimModel.objects.update_or_create(
            versionid=spec["versionid"], defaults={**spec, "kind": SimModel.Kind.BASE, "base_model": ""}
        )
    for number, (versionid, name, base, opensource, description) in enumerate(LORAS, start=101):
        SimModel.objects.update_or_create(
            versionid=versionid,
            defaults={
                "kind": SimModel.Kind.LORA,
                "model_id": number,
                "model_name": name,
                "tag": "LORA",
                "author": "Miaohua community",
                "base_model": base,
                "description": description,
                "is_opensource": opensource,
            },
        )
    for email, password in accounts:
        account = SimAccount.objects.filter(email=email).first() or SimAccount(email=email)
        if not account.password_hash or not account.check_password(password):
            account.set_password(password)
            account.save()


def base_model_by_versionid(versionid: str) -> SimModel | None:
    return SimModel.objects.filter(kind=SimModel.Kind.BASE, versionid=versionid).first()


def base_model_by_name(name: str) -> SimModel | None:
    """The base model a `model_name` names: the legacy default, or a catalog name ignoring case and the
    " Beta" public clients add to it (a live load-test client sends "Artist v0.3.5 Beta")."""
    wanted = name.strip().lower()
    versionid = LEGACY_MODEL_NAMES.get(wanted)
    if versionid:
        return base_model_by_versionid(versionid)
    bases = SimModel.objects.filter(kind=SimModel.Kind.BASE)
    exact = bases.filter(model_name__iexact=name.strip()).first()
    if exact or not wanted.endswith(BETA):
        return exact
    return bases.filter(model_name__iexact=name.strip()[: -len(BETA)].strip()).first()


def cn_list_for(base: SimModel) -> tuple[str, dict]:
    name = "opensource" if base.is_opensource else "artist"
    return name, CN_LISTS[name]


def train_base_model_resolve(name: str) -> str:
    return "Artist v0.3.5" if name == TRAIN_AUTO_BASE_MODEL else name


def generation_form() -> list[dict]:
    """get_generation_form's field specs, covering task_submit's fields."""
    bases = list(SimModel.objects.filter(kind=SimModel.Kind.BASE).order_by("model_id"))
    return [
        {
            "name": "model_name",
            "type": "list",
            "default": "Artist v0.3.5",
            "description": "model name (deprecated: send versionid)",
            "choices": [m.model_name for m in bases],
        },
        {
            "name": "versionid",
            "type": "list",
            "default": DEFAULT_VERSIONID,
            "description": "base model version id, from models/base",
            "choices": [m.versionid for m in bases],
        },
        {"name": "prompt", "type": "string", "default": "", "description": "prompt", "max_length": 1000},
        {"name": "neg_prompt", "type": "string", "default": "", "description": "negative prompt"},
        {
            "name": "n_images",
            "type": "int",
            "default": 2,
            "description": "number of images",
            "min": 1,
            "max": 8,
        },
        {"name": "scale", "type": "int", "default": 7, "description": "Guidance Scale", "min": 1, "max": 20},
        {
            "name": "strength",
            "type": "float",
            "default": 0.6,
            "description": "image weight",
            "min": 0,
            "max": 1,
        },
        {"name": "ddim_steps", "type": "int", "default": 50, "description": "steps", "min": 1, "max": 150},
        {
            "name": "select_seed",
            "type": "int",
            "default": -1,
            "description": "seed",
            "min": 0,
            "max": 9999999,
        },
        {
            "name": "resolution",
            "type": "dict",
            "default": "512x512",
            "description": "resolution",
            "choices": RESOLUTIONS,
        },
        {
            "name": "output_size",
            "type": "str",
            "default": "960x960",
            "description": 'output size "WxH", each side 512-6144 (documented: 640-6144)',
            "min": 512,
            "max": 6144,
        },
        {"name": "init_img", "type": "str", "default": "", "description": "init image url"},
        {
            "name": "add_prompt",
            "type": "bool",
            "default": False,
            "description": "rewrite the prompt with an LLM",
        },
        {
            "name": "controlnet_model",
            "type": "str",
            "default": "",
            "description": "controlnet model",
            "choices": ["", "canny"],
        },
        {
            "name": "cn_configs",
            "type": "list",
            "default": None,
            "description": "at most 3 controlnet units",
            "max": 3,
        },
        {
            "name": "lora_configs",
            "type": "list",
            "default": None,
            "description": "LoRA layers [{versionid, merge_weight 0-2}]; only one takes effect",
        },
    ]


def train_form() -> dict:
    return {"base_model": list(TRAIN_BASE_MODELS), "main_body": list(TRAIN_MAIN_BODIES)}
