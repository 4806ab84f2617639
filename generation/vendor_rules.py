"""The vendor's documented ranges (digest: "task_submit", "Uploads", vendor FAQ), in one place for forms.

An upload's refusal may be stored (a dataset's refused image keeps its reason): the messages are therefore in
English, registered with ``stored()``, and shown with ``|stored_message`` / ``shown()`` (miaohua_site.i18n)."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_noop
from PIL import Image, UnidentifiedImageError

from miaohua_site.i18n import english, stored

PROMPT_MAX = 1000
N_IMAGES = (1, 8)
SCALE = (1, 20)
STEPS = (1, 150)
SEED = (-1, 9_999_999)
SIDE = (512, 6144)  # output_size per side: the live service takes 512 and up (digest decision 5, revised)
DOCUMENTED_MIN_SIDE = 640  # the document's floor: below it the form warns, it does not refuse
WEIGHT = (0.0, 2.0)
MAX_CONTROLNETS = 3

UPLOAD_EXTENSIONS = (".png", ".jpg", ".jpeg", ".jfif", ".pjpeg", ".pjp", ".webp")
UPLOAD_FORMATS = {"PNG", "JPEG", "WEBP"}
UPLOAD_MAX_BYTES = 5 * 1024 * 1024
UPLOAD_SIDE = (256, 6144)

# ControlNet processors and their options (digest table). A type not listed takes no config.
CN_PROCESSORS = {
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
CN_OPTIONS = {"canny": ["low_threshold", "high_threshold"], "tile": ["down_sample_rate"]}

# Why an upload is refused (stored in English, shown translated).
WRONG_EXTENSION = stored(gettext_noop("Miaohua accepts PNG, JPEG and WebP images ({ext})."))
TOO_LARGE = stored(gettext_noop("This image is {size} MB; Miaohua accepts at most 5 MB."))
TOO_MANY_PIXELS = gettext_noop("This image has far too many pixels; Miaohua accepts at most 6144×6144.")
UNREADABLE = gettext_noop("This file is not a readable image.")
WRONG_FORMAT = stored(gettext_noop("This file is a {format} image; Miaohua accepts PNG, JPEG and WebP."))
WRONG_SIDES = stored(
    gettext_noop("This image is {width}×{height}; Miaohua accepts {low}×{low} to {high}×{high} pixels.")
)
DAMAGED = gettext_noop("This image is damaged or incomplete (it does not decode to the end); export it again.")


def check_upload_image(file) -> tuple[int, int]:
    """A file the vendor will accept as an input image: its types, ≤ 5 MB, 256²–6144², really decodable.
    Returns (width, height); raises ValidationError with the reason."""
    name = (getattr(file, "name", "") or "").lower()
    if not name.endswith(UPLOAD_EXTENSIONS):
        raise ValidationError(english(WRONG_EXTENSION, ext=" ".join(UPLOAD_EXTENSIONS)))
    size = getattr(file, "size", None)
    if size is not None and size > UPLOAD_MAX_BYTES:
        raise ValidationError(english(TOO_LARGE, size=f"{size / 1024 / 1024:.1f}"))
    try:
        file.seek(0)
        with Image.open(file) as image:
            fmt, (width, height) = image.format, image.size
            image.verify()
    except Image.DecompressionBombError:
        raise ValidationError(TOO_MANY_PIXELS) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ValidationError(UNREADABLE) from None
    finally:
        file.seek(0)
    if fmt not in UPLOAD_FORMATS:
        raise ValidationError(english(WRONG_FORMAT, format=fmt))
    low, high = UPLOAD_SIDE
    if not (low <= width <= high and low <= height <= high):
        raise ValidationError(english(WRONG_SIDES, width=width, height=height, low=low, high=high))
    _check_decodes(file)
    return width, height


def _check_decodes(file) -> None:
    """Every pixel decodes: verify() reads only a JPEG's headers, so a cut-off file passed and failed at the vendor.
    Run once the size is known to be within the vendor's range (at most 6144² pixels are decoded)."""
    try:
        file.seek(0)
        with Image.open(file) as image:
            image.load()
    except (OSError, SyntaxError, ValueError):
        raise ValidationError(DAMAGED) from None
    finally:
        file.seek(0)
