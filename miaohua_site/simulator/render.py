"""Pictures the simulator "generates": honest placeholders, deterministic in what they are made from.

A picture is a colour field and shapes drawn from a hash of its inputs (so a different prompt looks
different and the same parameters and seed give the same bytes), composed at a small size, scaled to the
exact output size, then labelled at full size with "SIMULATED", the prompt and the seed. Each picture is
rendered once into MEDIA_ROOT/simulator/renders/ as large (full size), middle (half) and small (~256 px)
JPEGs; a 6144x6144 picture takes about a second.

Chinese prompts are drawn in Chinese when the machine has a CJK font (``MIAOHUA_SIMULATOR_CJK_FONT``, else the
usual Noto / Source Han / WenQuanYi / Droid files, else the system's); without one, each run of characters the
built-in font cannot draw becomes "…", never a row of empty boxes."""

import hashlib
import io
import json
import os
import random
import re
import tempfile
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

RENDER_VERSION = 2  # 2: Chinese drawn with a CJK font, lines wrapped by their drawn width
VARIANTS = ("large", "middle", "small")
WORK_SIDE = 384  # composition happens at most this big, then is scaled up
SMALL_SIDE = 256
JPEG_QUALITY = 88

NAMED_COLOURS = {
    "black": (20, 20, 20),
    "white": (240, 240, 240),
    "grey": (128, 128, 128),
    "red": (200, 40, 40),
    "orange": (235, 140, 30),
    "yellow": (230, 210, 50),
    "green": (60, 160, 60),
    "teal": (30, 150, 150),
    "blue": (40, 80, 200),
    "purple": (130, 60, 170),
    "pink": (230, 130, 180),
    "brown": (120, 80, 40),
}


def key_for(material) -> str:
    """A stable hex key for JSON-able render inputs."""
    blob = json.dumps({"v": RENDER_VERSION, "m": material}, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


CJK = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]")
TOKENS = re.compile(r"\s+|[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]|[^\s\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]+")
NOT_LATIN = re.compile(r"[^\u0000-\u024f\u2000-\u206f\u20a0-\u20cf\u2190-\u21ff]+")
CJK_FONT_FILES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/source-han-sans/SourceHanSans-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/STHeiti Medium.ttc",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simhei.ttf",
)


@lru_cache(maxsize=1)
def cjk_font_file() -> tuple[str, int] | None:
    """(path, face index) of a font that draws Simplified Chinese, or None when the machine has none."""
    chosen = getattr(settings, "MIAOHUA_SIMULATOR_CJK_FONT", "")
    for path in [chosen] if chosen else CJK_FONT_FILES:
        if path and Path(path).is_file():
            return path, _simplified_face(path)
    return None


def _simplified_face(path: str) -> int:
    """A collection (.ttc) holds Japanese, Korean and Chinese faces: the Simplified Chinese one (SC), else the first."""
    for index in range(12):
        try:
            family = ImageFont.truetype(path, 12, index=index).getname()[0]
        except OSError:
            break
        if family.endswith((" SC", " CN")) or "Hei" in family or "GB" in family:
            return index
    return 0


@lru_cache(maxsize=32)
def _font(size: int, cjk: bool = False) -> ImageFont.ImageFont:
    found = cjk_font_file() if cjk else None
    if found is not None:
        try:
            return ImageFont.truetype(found[0], size, index=found[1])
        except OSError:
            pass
    return ImageFont.load_default(size=size)


def drawable(text: str) -> tuple[str, bool]:
    """The text as it will be drawn, and whether it needs the CJK font: Chinese is kept when a CJK font is there;
    otherwise every run the built-in font cannot draw becomes "…"."""
    if not NOT_LATIN.search(text):
        return text, False
    if CJK.search(text) and cjk_font_file() is not None:
        return text, True
    return NOT_LATIN.sub("…", text), False


def _wrap(text: str, font, width: int) -> list[str]:
    """Lines no wider than ``width`` pixels: Latin text breaks between words, Chinese between any two characters."""
    lines, line = [], ""
    for token in TOKENS.findall(text):
        candidate = line + token
        if line and font.getlength(candidate) > width:
            lines.append(line.rstrip())
            line = token.lstrip()
        else:
            line = candidate
        while font.getlength(line) > width and len(line) > 1:  # one word wider than the picture: cut it
            cut = max(1, int(len(line) * width / max(1, font.getlength(line))))
            lines.append(line[:cut])
            line = line[cut:]
    if line.strip() or not lines:
        lines.append(line.rstrip())
    return lines


def colour_name(rgb: tuple[int, int, int]) -> str:
    return min(
        NAMED_COLOURS,
        key=lambda name: sum((a - b) ** 2 for a, b in zip(rgb, NAMED_COLOURS[name], strict=True)),
    )


def dominant_colour(image: Image.Image) -> str:
    small = image.convert("RGB").resize((32, 32))
    quantised = small.quantize(colors=4)
    palette = quantised.getpalette() or []
    _, index = max(quantised.getcolors() or [(1, 0)])
    return colour_name(tuple(palette[index * 3 : index * 3 + 3]) or (128, 128, 128))


def compose(
    *,
    key: str,
    width: int,
    height: int,
    title: str,
    lines: list[str],
    init: Image.Image | None = None,
    strength: float = 0.0,
    controls: list[tuple[str, Image.Image]] = (),
) -> Image.Image:
    """Draw the picture for `key` at exactly width x height."""
    rng = random.Random(int(key[:16], 16))
    scale = min(1.0, WORK_SIDE / max(width, height))
    sw, sh = max(8, round(width * scale)), max(8, round(height * scale))

    grid = Image.new("RGB", (4, 4))
    grid.putdata([tuple(rng.randrange(256) for _ in range(3)) for _ in range(16)])
    canvas = grid.resize((sw, sh), Image.Resampling.BICUBIC).convert("RGBA")
    for _ in range(rng.randint(5, 12)):
        layer = Image.new("RGBA", (sw, sh))
        draw = ImageDraw.Draw(layer)
        x0, y0 = rng.uniform(-0.2, 1.0) * sw, rng.uniform(-0.2, 1.0) * sh
        x1, y1 = x0 + rng.uniform(0.1, 0.6) * sw, y0 + rng.uniform(0.1, 0.6) * sh
        fill = (*(rng.randrange(256) for _ in range(3)), rng.randrange(90, 200))
        shape = rng.choice(("ellipse", "rectangle", "triangle"))
        if shape == "ellipse":
            draw.ellipse((x0, y0, x1, y1), fill=fill)
        elif shape == "rectangle":
            draw.rectangle((x0, y0, x1, y1), fill=fill)
        else:
            draw.polygon([(x0, y1), ((x0 + x1) / 2, y0), (x1, y1)], fill=fill)
        canvas = Image.alpha_composite(canvas, layer)
    picture = canvas.convert("RGB")

    if init is not None:  # image-to-image: the init picture shows through by `strength`
        base = ImageOps.fit(init.convert("RGB"), (sw, sh))
        picture = Image.blend(picture, base, max(0.0, min(1.0, strength)) * 0.85)
    for number, (name, control) in enumerate(controls[:3]):  # ControlNet references as inset sketches
        thumb = ImageOps.fit(control.convert("L"), (max(4, sw // 5), max(4, sh // 5)))
        if name in ("canny", "lineart", "lineart_anime", "scribble"):
            thumb = ImageOps.invert(thumb.filter(ImageFilter.FIND_EDGES))
        picture.paste(thumb.convert("RGB"), (sw - thumb.width - 4, 4 + number * (thumb.height + 4)))

    picture = picture.resize((width, height), Image.Resampling.BICUBIC)
    _label(picture, title=title, lines=lines)
    return picture


def _label(picture: Image.Image, *, title: str, lines: list[str]) -> None:
    width, height = picture.size
    side = min(width, height)
    big, small = max(10, side // 12), max(8, side // 34)
    draw = ImageDraw.Draw(picture)
    stroke = max(1, big // 18)
    draw.text(
        (side // 30, side // 30),
        title,
        font=_font(big),
        fill="white",
        stroke_width=stroke,
        stroke_fill="black",
    )

    shown = [drawable(line) for line in lines]
    cjk = any(needs for _, needs in shown)
    font = _font(small, cjk)
    wrapped: list[str] = []
    for line, _ in shown:
        wrapped.extend(_wrap(line, font, width - 2 * small))
    if len(wrapped) > 6:
        wrapped = [*wrapped[:5], wrapped[5][:-1] + "…"]
    band_height = min(height, (len(wrapped) + 1) * int(small * 1.3))
    band_box = (0, height - band_height, width, height)
    band = picture.crop(band_box)
    picture.paste(Image.blend(band, Image.new("RGB", band.size), 0.6), band_box[:2])
    y = height - band_height + small // 2
    for line in wrapped:
        draw.text((small, y), line, font=font, fill="white")
        y += int(small * 1.3)


def cache_dir() -> Path:
    return Path(settings.MEDIA_ROOT) / "simulator" / "renders"


def cached(key: str, variant: str, make_large: Callable[[], Image.Image]) -> Path:
    """The file of one variant of picture `key`, rendering all three variants the first time."""
    if variant not in VARIANTS:
        raise ValueError(variant)
    target = cache_dir() / f"{key}-{variant}.jpg"
    if target.exists():
        return target
    large = make_large()
    middle = large.resize((max(1, large.width // 2), max(1, large.height // 2)), Image.Resampling.BILINEAR)
    small = large.copy()
    small.thumbnail((SMALL_SIDE, SMALL_SIDE), Image.Resampling.BILINEAR)
    cache_dir().mkdir(parents=True, exist_ok=True)
    for name, image in (("large", large), ("middle", middle), ("small", small)):
        _write_atomically(cache_dir() / f"{key}-{name}.jpg", image)
    return target


def _write_atomically(path: Path, image: Image.Image) -> None:
    # Another process may render the same picture at the same time: write aside, then rename.
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=JPEG_QUALITY)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
    with os.fdopen(fd, "wb") as handle:
        handle.write(buffer.getvalue())
    os.replace(tmp, path)
