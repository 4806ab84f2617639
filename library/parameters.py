"""Generation parameters inside image files, in AUTOMATIC1111's "parameters" text convention.

Writing: ``a1111_text(task, image)`` is one image's settings as A1111 writes them (prompt, "Negative prompt: …",
then one "Key: value, …" line), with Miaohua-only values under "Miaohua …" keys so our own reader restores them
exactly. ``with_parameters`` / ``streamed_with_parameters`` put that text in the file without re-encoding a pixel:
a PNG ``tEXt``/``iTXt`` chunk "parameters" right after IHDR, a JPEG APP1 Exif segment whose UserComment is
b"UNICODE\\0" + UTF-16-BE (what A1111 writes with piexif and reads back), a WebP RIFF "EXIF" chunk.

Reading: ``read_parameters(file)`` finds the settings other tools put in images (A1111, Forge, SD.Next, Fooocus,
ours, SwarmUI, InvokeAI, ComfyUI where simple, NovelAI) by walking the file's chunks or segments itself (no pixel
is decoded, so a decompression bomb is harmless); ``to_generate_initial(found)`` turns them into the Generate
form's initial values (the shape of ``generation.submission.initial_from_task``) with a readable note for each
thing that does not map to Miaohua. Nothing here raises on a bad file."""

from __future__ import annotations

import io
import json
import math
import re
import struct
import zlib
from dataclasses import dataclass, field
from typing import IO

from django.utils.translation import gettext, ngettext
from PIL import Image

from generation import vendor_rules as rules

KEY = "parameters"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TEXT_MAX = 256 * 1024  # a text chunk bigger than this is no settings text: skipped, said in a note
READ_MAX = 64 * 1024 * 1024  # a file bigger than this is not read at all
HEAD_MAX = 8 * 1024 * 1024  # headers before the image data, read into memory when streaming
EXIF_SEGMENT_MAX = 65533  # a JPEG segment's payload (its length field counts itself)
USER_COMMENT = 0x9286
EXIF_IFD = 0x8769
UNICODE_PREFIX = b"UNICODE\0"


# --- Writing the text ----------------------------------------------------------------------------------------


def _quote(value) -> str:
    """A1111's ``quote``: a value with a comma, colon or line break is written as a JSON string."""
    text = str(value)
    if "," not in text and ":" not in text and "\n" not in text and '"' not in text:
        return text
    return json.dumps(text, ensure_ascii=False)


def _number(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return f"{value:.1f}"
    return str(value)


def _controlnet_unit(cn: dict) -> str:
    """One unit as sd-webui-controlnet writes it ("Module: …, Model: …, Weight: …"): the processor as its
    Module, Miaohua's type as its Model, canny's thresholds and tile's down-sample rate as Threshold A/B."""
    config = cn.get("config") or {}
    parts = [
        ("Module", config.get("control_processor") or "none"),
        ("Model", cn.get("cn") or ""),
        ("Weight", _number(cn.get("weight", 1))),
        ("Guidance Start", _number(cn.get("guidance_start", 0))),
        ("Guidance End", _number(cn.get("guidance_end", 1))),
    ]
    if "low_threshold" in config:
        parts.append(("Threshold A", _number(config["low_threshold"])))
    if "high_threshold" in config:
        parts.append(("Threshold B", _number(config["high_threshold"])))
    if "down_sample_rate" in config:
        parts.append(("Threshold A", _number(config["down_sample_rate"])))
    return ", ".join(f"{key}: {_quote(value)}" for key, value in parts)


def a1111_text(task, image) -> str:
    """The A1111 "parameters" text of one generated image of ``task``."""
    p = task.params or {}
    prompt = p.get("prompt", task.prompt) or ""
    for lora in p.get("lora_configs") or []:
        if isinstance(lora, dict) and lora.get("versionid"):
            prompt += f" <lora:{lora['versionid']}:{_number(lora.get('merge_weight', 1))}>"
    lines = [prompt]
    negative = p.get("neg_prompt", task.neg_prompt) or ""
    if negative:
        lines.append(f"Negative prompt: {negative}")
    seed = image.seed if image is not None and image.seed is not None else task.select_seed
    if seed is None:
        seed = p.get("select_seed", -1)
    size = p.get("output_size") or ""
    if not size and image is not None and image.width and image.height:
        size = f"{image.width}x{image.height}"
    pairs = [
        ("Steps", p.get("ddim_steps")),
        ("CFG scale", p.get("scale")),
        ("Seed", seed),
        ("Size", size or None),
        ("Model", task.model_name or p.get("versionid") or task.versionid),
    ]
    if p.get("init_img"):
        pairs.append(("Denoising strength", p.get("strength")))
    for index, cn in enumerate(p.get("cn_configs") or []):
        if isinstance(cn, dict):
            pairs.append((f"ControlNet {index}", _controlnet_unit(cn)))
    pairs += [
        ("Miaohua version", p.get("versionid") or task.versionid),
        ("Miaohua add prompt", bool(p.get("add_prompt"))),
        ("Miaohua images", p.get("n_images")),
        ("Miaohua mode", "img2img" if p.get("init_img") else "txt2img"),
    ]
    lines.append(", ".join(f"{key}: {_quote(_number(value))}" for key, value in pairs if value not in (None, "")))
    return "\n".join(lines)


# --- Embedding ----------------------------------------------------------------------------------------------


def image_format(data: bytes) -> str | None:
    """ "PNG", "JPEG" or "WEBP" from a file's first bytes, else None."""
    if data.startswith(PNG_SIGNATURE):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _png_text_chunk(text: str) -> bytes:
    """tEXt when the text is Latin-1 (as A1111 writes it, through Pillow's PngInfo.add_text), else iTXt (UTF-8)."""
    try:
        return _png_chunk(b"tEXt", KEY.encode() + b"\0" + text.encode("latin-1"))
    except UnicodeEncodeError:
        return _png_chunk(b"iTXt", KEY.encode() + b"\0\0\0\0\0" + text.encode("utf-8"))


def _png_chunks(data: bytes, *, stop_at_image=False):
    """(offset, end, type, payload start) of each chunk; stops at IEND, at truncation, or before the first IDAT."""
    offset = len(PNG_SIGNATURE)
    while offset + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if stop_at_image and kind == b"IDAT":
            return
        end = offset + 12 + length
        if end > len(data):
            return
        yield offset, end, kind, offset + 8
        if kind == b"IEND":
            return
        offset = end


def _is_our_text_chunk(data: bytes, kind: bytes, start: int) -> bool:
    return kind in (b"tEXt", b"iTXt", b"zTXt") and data[start : start + len(KEY) + 1] == KEY.encode() + b"\0"


def _png_splice(head: bytes, text: str) -> bytes | None:
    """The PNG head (up to its first IDAT) with our text chunk after IHDR, any earlier "parameters" dropped."""
    chunks = list(_png_chunks(head, stop_at_image=True))
    if not chunks or chunks[0][2] != b"IHDR":
        return None
    ihdr_end = chunks[0][1]
    kept = [head[s:e] for s, e, kind, start in chunks[1:] if not _is_our_text_chunk(head, kind, start)]
    tail_from = chunks[-1][1]
    return head[:ihdr_end] + _png_text_chunk(text) + b"".join(kept) + head[tail_from:]


def _png_head_length(data: bytes) -> int | None:
    """Where the first IDAT starts (None when it is not in ``data``)."""
    last_end = None
    for _s, end, kind, _start in _png_chunks(data, stop_at_image=True):
        last_end = end
        if kind == b"IEND":
            return None
    if last_end is not None and data[last_end + 4 : last_end + 8] == b"IDAT":
        return last_end
    return None


def exif_with_comment(text: str) -> bytes:
    """A minimal big-endian TIFF (as piexif.dump writes it) whose Exif IFD holds UserComment = UNICODE + UTF-16-BE
    (piexif.helper.UserComment.dump(text, encoding="unicode"), which A1111 uses)."""
    comment = UNICODE_PREFIX + text.encode("utf-16-be")
    exif_ifd = 8 + 2 + 12 + 4
    value_at = exif_ifd + 2 + 12 + 4
    return (
        b"MM\x00\x2a"
        + struct.pack(">I", 8)
        + struct.pack(">HHHII", 1, EXIF_IFD, 4, 1, exif_ifd)
        + struct.pack(">I", 0)
        + struct.pack(">HHHII", 1, USER_COMMENT, 7, len(comment), value_at)
        + struct.pack(">I", 0)
        + comment
    )


def _jpeg_segments(data: bytes):
    """(offset, end, marker, payload start) of each header segment after SOI, up to and without SOS."""
    offset = 2
    while offset + 4 <= len(data):
        if data[offset] != 0xFF:
            return
        marker = data[offset + 1]
        if marker == 0xFF:  # fill byte
            offset += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # no length
            offset += 2
            continue
        if marker in (0xDA, 0xD9):  # start of scan / end of image: the header is over
            return
        (length,) = struct.unpack(">H", data[offset + 2 : offset + 4])
        end = offset + 2 + length
        if length < 2 or end > len(data):
            return
        yield offset, end, marker, offset + 4
        offset = end


def _jpeg_head_length(data: bytes) -> int | None:
    """Where the SOS segment starts (None when the header is not all in ``data``)."""
    end = 2
    for segment in _jpeg_segments(data):
        end = segment[1]
    if data[end : end + 2] == b"\xff\xda":
        return end
    return None


def _jpeg_splice(head: bytes, text: str) -> bytes | None:
    """The JPEG header with one APP1 Exif segment carrying the text: an existing Exif segment is replaced (as
    piexif.insert does), after APP0 (JFIF must come first) or right after SOI; every other segment is kept."""
    payload = b"Exif\0\0" + exif_with_comment(text)
    if len(payload) > EXIF_SEGMENT_MAX:
        return None
    segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    segments = list(_jpeg_segments(head))
    if head[:2] != b"\xff\xd8":
        return None
    out, placed, position = [head[:2]], False, 2
    for start, end, marker, body in segments:
        out.append(head[position:start])  # fill bytes, if any
        if marker == 0xE1 and head[body : body + 6] == b"Exif\0\0":
            if not placed:
                out.append(segment)
                placed = True
        else:
            if not placed and marker != 0xE0:
                out.append(segment)
                placed = True
            out.append(head[start:end])
        position = end
    if not placed:
        out.append(segment)
    out.append(head[position:])
    return b"".join(out)


def _riff_chunks(data: bytes):
    offset = 12
    while offset + 8 <= len(data):
        kind, length = struct.unpack("<4sI", data[offset : offset + 8])
        end = offset + 8 + length + (length & 1)
        if offset + 8 + length > len(data):
            return
        yield kind, data[offset + 8 : offset + 8 + length], data[offset:end]
        offset = end


def _webp_splice(data: bytes, text: str) -> bytes | None:
    """The WebP with an "EXIF" chunk (the TIFF alone, as the WebP container spec says) and VP8X's EXIF flag; a
    simple WebP (VP8 / VP8L alone) gets the VP8X header it needs. An animated or otherwise unusual file: None."""
    chunks = list(_riff_chunks(data))
    if not chunks:
        return None
    exif = exif_with_comment(text)
    exif_chunk = struct.pack("<4sI", b"EXIF", len(exif)) + exif + (b"\0" if len(exif) & 1 else b"")
    kinds = [kind for kind, _p, _r in chunks]
    if kinds[0] == b"VP8X":
        if b"ANIM" in kinds:
            return None
        flags = chunks[0][1][0] | 0x08
        vp8x = chunks[0][2][:8] + bytes([flags]) + chunks[0][2][9:]
        body, placed = [vp8x], False
        for kind, _payload, raw in chunks[1:]:
            if kind == b"EXIF":
                continue
            if kind == b"XMP " and not placed:
                body.append(exif_chunk)
                placed = True
            body.append(raw)
        if not placed:
            body.append(exif_chunk)
    elif kinds[0] in (b"VP8 ", b"VP8L") and len(chunks) == 1:
        try:
            with Image.open(io.BytesIO(data)) as image:
                (width, height), alpha = image.size, image.mode == "RGBA"
        except Exception:  # noqa: BLE001 - a file Pillow cannot open is left as it is
            return None
        flags = 0x08 | (0x10 if alpha else 0)
        canvas = (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
        vp8x = struct.pack("<4sI", b"VP8X", 10) + bytes([flags, 0, 0, 0]) + canvas
        body = [vp8x, chunks[0][2], exif_chunk]
    else:
        return None
    riff_body = b"WEBP" + b"".join(body)
    return b"RIFF" + struct.pack("<I", len(riff_body)) + riff_body


def with_parameters(data: bytes, text: str) -> bytes:
    """The same image file with ``text`` embedded, its pixel data untouched; a file we cannot mark: unchanged."""
    try:
        kind = image_format(data)
        if kind == "PNG":
            head = _png_head_length(data)
            spliced = _png_splice(data[:head], text) if head else None
            return spliced + data[head:] if spliced else data
        if kind == "JPEG":
            head = _jpeg_head_length(data)
            spliced = _jpeg_splice(data[:head], text) if head else None
            return spliced + data[head:] if spliced else data
        if kind == "WEBP":
            return _webp_splice(data, text) or data
    except (struct.error, ValueError, IndexError):
        pass
    return data


class Spliced(io.RawIOBase):
    """A file read as ``head`` then the rest of ``source`` from ``rest_at``: the original streamed with new
    headers, never held whole in memory. Seekable (FileResponse measures it), never named (its length is not
    the stored file's)."""

    def __init__(self, head: bytes, source: IO[bytes], rest_at: int, rest_size: int):
        super().__init__()
        self._head, self._source, self._rest_at, self._size = head, source, rest_at, len(head) + rest_size
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer) -> int:
        wanted = len(buffer)
        if self._position < len(self._head):
            chunk = self._head[self._position : self._position + wanted]
        else:
            self._source.seek(self._rest_at + self._position - len(self._head))
            chunk = self._source.read(wanted)
        buffer[: len(chunk)] = chunk
        self._position += len(chunk)
        return len(chunk)

    def close(self) -> None:
        try:
            self._source.close()
        finally:
            super().close()


def _size_of(source: IO[bytes]) -> int:
    position = source.tell()
    size = source.seek(0, io.SEEK_END)
    source.seek(position)
    return size


def streamed_with_parameters(source: IO[bytes], text: str) -> IO[bytes]:
    """``source`` (an open, seekable original) with ``text`` inside, for FileResponse and the ZIP writer: only its
    headers are read into memory (PNG up to the first IDAT, JPEG up to SOS; a WebP whole, when small). A file
    we cannot mark is returned as it is, at its start. Closing the answer closes ``source``."""
    try:
        source.seek(0)
        size = _size_of(source)
        first = source.read(16)
        source.seek(0)
        kind = image_format(first)
        if kind == "WEBP" and size <= HEAD_MAX:
            data = source.read()
            marked = with_parameters(data, text)
            source.seek(0)
            return Spliced(marked, source, size, 0) if marked is not data else source
        if kind in ("PNG", "JPEG"):
            head_length = _png_head_length if kind == "PNG" else _jpeg_head_length
            splice = _png_splice if kind == "PNG" else _jpeg_splice
            head, step = b"", 64 * 1024
            while len(head) < min(size, HEAD_MAX):
                head += source.read(step)
                at = head_length(head)
                if at is not None:
                    spliced = splice(head[:at], text)
                    if spliced is None:
                        break
                    return Spliced(spliced, source, at, size - at)
                step *= 2
    except (OSError, struct.error, ValueError, IndexError):
        pass
    source.seek(0)
    return source


def original_with_parameters(image, task=None) -> IO[bytes]:
    """``image``'s stored original, opened, with its task's parameters inside (FileNotFoundError as open())."""
    task = task if task is not None else image.task
    return streamed_with_parameters(image.file.open("rb"), a1111_text(task, image))


# --- Reading ------------------------------------------------------------------------------------------------


@dataclass
class Found:
    """What an image says about how it was made: ``tool`` (a name, not translated), ``values`` in one shape
    whatever the tool (prompt, neg_prompt, steps, scale, seed, width, height, sampler, model, strength, loras,
    controlnets, miaohua {…}, ignored [keys]), and ``notes`` on what could not be read."""

    tool: str
    values: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    text: str = ""


def _decode_user_comment(raw) -> str:
    """piexif.helper.UserComment.load, forgiving: UNICODE in either byte order (A1111 writes big-endian; some
    tools little-endian), ASCII, or undefined bytes read as UTF-8."""
    if isinstance(raw, str):
        return raw
    if not isinstance(raw, (bytes, bytearray)):
        return ""
    raw = bytes(raw)
    prefix, body = raw[:8], raw[8:]
    if prefix == UNICODE_PREFIX:
        if body[:2] in (b"\xfe\xff", b"\xff\xfe"):
            return body.decode("utf-16", errors="replace")
        even_zeros = body[0::2].count(0)
        odd_zeros = body[1::2].count(0)
        codec = "utf-16-le" if odd_zeros > even_zeros else "utf-16-be"
        return body[: len(body) - len(body) % 2].decode(codec, errors="replace")
    if prefix in (b"ASCII\0\0\0", b"\0" * 8):
        return body.decode("utf-8", errors="replace").rstrip("\0")
    return raw.decode("utf-8", errors="replace").rstrip("\0")


def _exif_texts(tiff: bytes) -> dict[str, str]:
    """UserComment (and ImageDescription, where some tools put their JSON) of an Exif block."""
    texts = {}
    try:
        exif = Image.Exif()
        exif.load(tiff)
        comment = exif.get_ifd(EXIF_IFD).get(USER_COMMENT)
        if comment:
            texts["UserComment"] = _decode_user_comment(comment)
        for tag, name in ((0x010E, "ImageDescription"), (0x010F, "Make")):
            value = exif.get(tag)
            if isinstance(value, str) and value.strip():
                texts[name] = value
    except Exception:  # noqa: BLE001 - a damaged Exif block has nothing for us
        pass
    return texts


def _png_texts(data: bytes, notes: list[str]) -> dict[str, str]:
    texts: dict[str, str] = {}
    for _s, end, kind, start in _png_chunks(data):
        payload = data[start : end - 4]
        try:
            if kind == b"eXIf":
                for key, value in _exif_texts(payload).items():
                    texts.setdefault(key, value)
                continue
            if kind not in (b"tEXt", b"zTXt", b"iTXt"):
                continue
            if len(payload) > TEXT_MAX:
                notes.append(gettext("A text in this image is too large to be generation settings: it was skipped."))
                continue
            keyword, _, rest = payload.partition(b"\0")
            name = keyword.decode("latin-1")
            if kind == b"tEXt":
                value = rest.decode("latin-1")
            elif kind == b"zTXt":
                value = _inflate(rest[1:]).decode("latin-1")
            else:
                compressed, rest = rest[0], rest[2:]
                _language, _, rest = rest.partition(b"\0")
                _translated, _, rest = rest.partition(b"\0")
                value = (_inflate(rest) if compressed else rest).decode("utf-8", errors="replace")
            texts.setdefault(name, value)
        except (ValueError, IndexError, zlib.error):
            notes.append(gettext("A text in this image is damaged or too large: it was skipped."))
    return texts


def _inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj()
    out = inflater.decompress(data, TEXT_MAX + 1)
    if len(out) > TEXT_MAX:
        raise ValueError("too large")
    return out


def _jpeg_texts(data: bytes) -> dict[str, str]:
    texts: dict[str, str] = {}
    for _s, end, marker, body in _jpeg_segments(data):
        payload = data[body:end]
        if marker == 0xE1 and payload.startswith(b"Exif\0\0"):
            for key, value in _exif_texts(payload[6:]).items():
                texts.setdefault(key, value)
        elif marker == 0xFE and len(payload) <= TEXT_MAX:
            texts.setdefault("Comment", payload.decode("utf-8", errors="replace").rstrip("\0"))
    return texts


def _webp_texts(data: bytes) -> dict[str, str]:
    texts: dict[str, str] = {}
    for kind, payload, _raw in _riff_chunks(data):
        if kind == b"EXIF":
            tiff = payload[6:] if payload.startswith(b"Exif\0\0") else payload
            for key, value in _exif_texts(tiff).items():
                texts.setdefault(key, value)
    return texts


def _read_bytes(file) -> bytes | None:
    try:
        if isinstance(file, (bytes, bytearray)):
            return bytes(file[: READ_MAX + 1])
        if hasattr(file, "seek"):
            file.seek(0)
        data = file.read(READ_MAX + 1)
        if hasattr(file, "seek"):
            file.seek(0)
        return data if isinstance(data, bytes) else None
    except (OSError, ValueError):
        return None


def read_parameters(file) -> Found | None:
    """The generation settings an image file carries, whichever tool wrote them; None when there are none (or
    the file is no image we read). Never raises."""
    data = _read_bytes(file)
    if not data or len(data) > READ_MAX:
        return None
    notes: list[str] = []
    try:
        kind = image_format(data)
        if kind == "PNG":
            texts = _png_texts(data, notes)
        elif kind == "JPEG":
            texts = _jpeg_texts(data)
        elif kind == "WEBP":
            texts = _webp_texts(data)
        else:
            return None
        found = _from_texts(texts)
    except Exception:  # noqa: BLE001 - whatever a strange file does, the answer is "nothing found"
        found = None
    if found is None:
        return Found(tool="", notes=notes) if notes else None
    found.notes[:0] = notes
    return found


def _json(text: str):
    text = (text or "").strip()
    if not text.startswith("{"):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _from_texts(texts: dict[str, str]) -> Found | None:
    """Which tool wrote these texts, and its values."""
    for name in ("parameters", "UserComment", "Comment"):
        text = texts.get(name)
        if not text or not text.strip():
            continue
        data = _json(text)
        if data is not None:
            found = _from_json(data, texts)
            if found is not None:
                return found
            continue
        if name == "Comment" and "Steps:" not in text:
            continue
        return _from_a1111(text)
    for name in ("sui_image_params", "invokeai_metadata"):
        data = _json(texts.get(name, ""))
        if data is not None:
            return _from_json(data if name in data else {name: data}, texts)
    if "prompt" in texts or "workflow" in texts:
        return _from_comfyui(texts)
    return None


# A1111's parse_generation_parameters: "Key: value" pairs, a value either a JSON string or up to the next comma.
_PARAM = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')
_SIZE = re.compile(r"^(\d+)x(\d+)$")
_LORA_TAG = re.compile(r"<(?:lora|lyco):([^:>]+):([^:>]*)(?::[^>]*)?>", re.IGNORECASE)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def parse_a1111(text: str) -> dict:
    """A1111's parameters text as a dict: "Prompt", "Negative prompt" and each key of the last line (values as
    written, unquoted), read the way A1111's own parse_generation_parameters reads it."""
    *lines, last = (text or "").strip().split("\n")
    if len(_PARAM.findall(last)) < 3:
        lines.append(last)
        last = ""
    prompt, negative, in_negative = [], [], False
    for line in lines:
        line = line.strip()
        if line.startswith("Negative prompt:"):
            in_negative = True
            line = line[len("Negative prompt:") :].strip()
        (negative if in_negative else prompt).append(line)
    result = {"Prompt": "\n".join(prompt), "Negative prompt": "\n".join(negative)}
    for key, value in _PARAM.findall(last):
        result[key.strip()] = _unquote(value.strip())
    return result


def _int(value) -> int | None:
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return int(number) if math.isfinite(number) else None


def _float(value) -> float | None:
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


# A1111 keys that carry nothing Miaohua could use, but are no one's business to mention one by one.
_SILENT = {"Model hash", "Lora hashes", "TI hashes", "Version", "Hashes", "Emphasis", "Module 1"}
_KNOWN = {
    "Prompt",
    "Negative prompt",
    "Steps",
    "Sampler",
    "CFG scale",
    "Seed",
    "Size",
    "Model",
    "Denoising strength",
    "Batch size",
}


def _split_loras(prompt: str) -> tuple[str, list[tuple[str, float | None]]]:
    loras = [(name.strip(), _float(weight)) for name, weight in _LORA_TAG.findall(prompt)]
    if not loras:
        return prompt, []
    cleaned = re.sub(r"[ \t]*" + _LORA_TAG.pattern, "", prompt, flags=re.IGNORECASE)
    cleaned = re.sub(r",[ \t]*(?=,)", "", cleaned)  # "a, <lora:x:1>, b" → "a, b"
    cleaned = "\n".join(line.rstrip(" \t") for line in cleaned.split("\n"))
    return cleaned.strip(), loras


def _controlnet_values(text: str) -> dict:
    pairs = {key.strip(): _unquote(value.strip()) for key, value in _PARAM.findall(text)}
    return {
        "module": pairs.get("Module", ""),
        "model": pairs.get("Model", ""),
        "weight": _float(pairs.get("Weight")),
        "start": _float(pairs.get("Guidance Start")),
        "end": _float(pairs.get("Guidance End")),
        "threshold_a": _float(pairs.get("Threshold A")),
        "threshold_b": _float(pairs.get("Threshold B")),
    }


def _from_a1111(text: str) -> Found:
    parsed = parse_a1111(text)
    prompt, loras = _split_loras(parsed.get("Prompt", ""))
    negative, _ = _split_loras(parsed.get("Negative prompt", ""))
    values: dict = {"prompt": prompt, "neg_prompt": negative, "loras": loras, "controlnets": [], "ignored": []}
    size = _SIZE.match(parsed.get("Size", ""))
    if size:
        values["width"], values["height"] = int(size.group(1)), int(size.group(2))
    values["steps"] = _int(parsed.get("Steps"))
    values["scale"] = _float(parsed.get("CFG scale"))
    values["seed"] = _int(parsed.get("Seed"))
    values["sampler"] = parsed.get("Sampler", "")
    values["model"] = parsed.get("Model", "") or ("" if "Model hash" not in parsed else parsed["Model hash"])
    values["n_images"] = _int(parsed.get("Batch size"))
    hires = any(key.startswith("Hires") for key in parsed)
    if "Denoising strength" in parsed and not hires:  # with hires fix it is the upscaler's, not an img2img's
        values["strength"] = _float(parsed["Denoising strength"])
    miaohua = {}
    for key, value in parsed.items():
        if key.startswith("Miaohua "):
            miaohua[key[len("Miaohua ") :]] = value
        elif key.startswith("ControlNet"):
            values["controlnets"].append(_controlnet_values(value))
        elif key not in _KNOWN and key not in _SILENT:
            values["ignored"].append(key)
    if hires and "Denoising strength" in parsed:
        values["ignored"].append("Denoising strength")
    if miaohua:
        values["miaohua"] = {
            "versionid": miaohua.get("version", ""),
            "add_prompt": miaohua.get("add prompt") == "True",
            "n_images": _int(miaohua.get("images")),
            "mode": miaohua.get("mode", ""),
        }
        tool = "Miaohua Studio"
    else:
        version = parsed.get("Version", "")
        tool = "Forge" if version.startswith("f") else "AUTOMATIC1111"
    return Found(tool=tool, values=values, text=text)


def _first(data: dict, *keys, default=None):
    for key in keys:
        if data.get(key) not in (None, ""):
            return data[key]
    return default


# Each JSON convention's own names for the settings we read: (our name, theirs, how to read it).
_TEXT, _INT, _FLOAT = str, "int", "float"


def _fields(source: dict, names: dict) -> dict:
    """``{ours: their value}`` read from ``source`` with ``names`` (ours → (theirs, kind)); a missing text is ""."""
    values = {}
    for ours, (theirs, kind) in names.items():
        raw = source.get(theirs)
        if kind == _INT:
            values[ours] = _int(raw)
        elif kind == _FLOAT:
            values[ours] = _float(raw)
        else:
            values[ours] = "" if raw is None else str(raw)
    return values


_SWARMUI = {
    "prompt": ("prompt", _TEXT), "neg_prompt": ("negativeprompt", _TEXT), "model": ("model", _TEXT),
    "seed": ("seed", _INT), "steps": ("steps", _INT), "scale": ("cfgscale", _FLOAT), "width": ("width", _INT),
    "height": ("height", _INT), "sampler": ("sampler", _TEXT), "n_images": ("images", _INT),
}  # fmt: skip
_INVOKEAI = {
    "prompt": ("positive_prompt", _TEXT), "neg_prompt": ("negative_prompt", _TEXT), "seed": ("seed", _INT),
    "steps": ("steps", _INT), "scale": ("cfg_scale", _FLOAT), "width": ("width", _INT), "height": ("height", _INT),
    "sampler": ("scheduler", _TEXT),
}  # fmt: skip
_NOVELAI = {
    "neg_prompt": ("uc", _TEXT), "seed": ("seed", _INT), "steps": ("steps", _INT), "scale": ("scale", _FLOAT),
    "width": ("width", _INT), "height": ("height", _INT), "sampler": ("sampler", _TEXT),
    "n_images": ("n_samples", _INT),
}  # fmt: skip
_FOOOCUS = {
    "prompt": ("prompt", _TEXT), "neg_prompt": ("negative_prompt", _TEXT), "model": ("base_model", _TEXT),
    "seed": ("seed", _INT), "steps": ("steps", _INT), "scale": ("guidance_scale", _FLOAT),
    "sampler": ("sampler", _TEXT),
}  # fmt: skip


def _from_json(data: dict, texts: dict) -> Found | None:
    """SwarmUI (sui_image_params), InvokeAI (invokeai_metadata), NovelAI (Comment) and Fooocus (JSON parameters)."""
    if isinstance(data.get("sui_image_params"), dict):
        p = data["sui_image_params"]
        names = p.get("loras") or []
        weights = p.get("loraweights") or []
        loras = [(str(n), _float(weights[i]) if i < len(weights) else None) for i, n in enumerate(names)]
        used = {
            "prompt", "negativeprompt", "model", "seed", "steps", "cfgscale", "width", "height", "sampler",
            "loras", "loraweights", "images", "initimagecreativity", "aspectratio", "swarm_version",
        }  # fmt: skip
        values = {**_fields(p, _SWARMUI), "loras": loras, "ignored": [key for key in p if key not in used]}
        if p.get("initimagecreativity") is not None:
            values["strength"] = _float(p["initimagecreativity"])
        return Found(tool="SwarmUI", values=values, text=json.dumps(data, ensure_ascii=False))
    if isinstance(data.get("invokeai_metadata"), dict):
        p = data["invokeai_metadata"]
        model = p.get("model")
        loras = []
        for lora in p.get("loras") or []:
            if isinstance(lora, dict):
                name = lora.get("model", {}).get("name") if isinstance(lora.get("model"), dict) else lora.get("model")
                loras.append((str(name or ""), _float(lora.get("weight"))))
        used = {
            "positive_prompt", "negative_prompt", "model", "seed", "steps", "cfg_scale", "width", "height",
            "scheduler", "loras", "generation_mode", "strength", "app_version",
        }  # fmt: skip
        values = {
            **_fields(p, _INVOKEAI),
            "model": str(model.get("name", "") if isinstance(model, dict) else model or ""),
            "loras": loras,
            "ignored": [key for key in p if key not in used],
        }
        if "img2img" in str(p.get("generation_mode", "")) and p.get("strength") is not None:
            values["strength"] = _float(p["strength"])
        return Found(tool="InvokeAI", values=values, text=json.dumps(p, ensure_ascii=False))
    if "uc" in data or texts.get("Software", "").startswith("NovelAI"):
        values = {
            **_fields(data, _NOVELAI),
            "prompt": str(_first(data, "prompt", default=texts.get("Description", ""))),
            "model": texts.get("Source", ""),
            "loras": [],
            "ignored": [],
        }
        return Found(tool="NovelAI", values=values, text=json.dumps(data, ensure_ascii=False))
    if "prompt" in data and ("steps" in data or "guidance_scale" in data):  # Fooocus's own scheme
        width = height = None
        size = re.findall(r"\d+", str(data.get("resolution", "")))
        if len(size) == 2:
            width, height = int(size[0]), int(size[1])
        values = {
            **_fields(data, _FOOOCUS),
            "width": width,
            "height": height,
            "loras": [],
            "ignored": [],
        }
        return Found(tool="Fooocus", values=values, text=json.dumps(data, ensure_ascii=False))
    return None


def _from_comfyui(texts: dict) -> Found:
    """A ComfyUI graph ("prompt": node id → {class_type, inputs}): one KSampler's seed, steps and cfg, the texts of
    the CLIPTextEncode nodes it takes as positive and negative, an EmptyLatentImage's size. Anything else: a
    note that the workflow was not read."""
    not_read = Found(tool="ComfyUI", notes=[gettext("This image holds a ComfyUI workflow, which could not be read.")])
    graph = _json(texts.get("prompt", ""))
    if not graph:
        return not_read
    samplers = [
        node
        for node in graph.values()
        if isinstance(node, dict) and str(node.get("class_type", "")).startswith("KSampler")
        and isinstance(node.get("inputs"), dict)
    ]  # fmt: skip
    if len(samplers) != 1:
        return not_read
    inputs = samplers[0]["inputs"]

    def node_of(link):
        if isinstance(link, list) and link and str(link[0]) in graph and isinstance(graph[str(link[0])], dict):
            return graph[str(link[0])]
        return {}

    def text_of(link):
        text = node_of(link).get("inputs", {}).get("text")
        return text if isinstance(text, str) else None

    positive = text_of(inputs.get("positive"))
    if positive is None:
        return not_read
    values = {
        "prompt": positive,
        "neg_prompt": text_of(inputs.get("negative")) or "",
        "seed": _int(_first(inputs, "seed", "noise_seed")),
        "steps": _int(inputs.get("steps")),
        "scale": _float(inputs.get("cfg")),
        "sampler": str(inputs.get("sampler_name", "")),
        "loras": [],
        "ignored": [],
    }
    latent = node_of(inputs.get("latent_image")).get("inputs", {})
    if isinstance(latent, dict) and "width" in latent:
        values["width"], values["height"] = _int(latent.get("width")), _int(latent.get("height"))
        values["n_images"] = _int(latent.get("batch_size"))
    for node in graph.values():
        if isinstance(node, dict) and "ckpt_name" in (node.get("inputs") or {}):
            values["model"] = str(node["inputs"]["ckpt_name"])
            break
    return Found(tool="ComfyUI", values=values, text=texts.get("prompt", ""))


# --- To the Generate form ----------------------------------------------------------------------------------


def _clamp(value, low, high):
    return max(low, min(high, value))


def _named(items, name: str):
    """The catalog entry (versionid / model_name) ``name`` stands for, case and a file extension aside."""
    wanted = re.sub(r"\.(safetensors|ckpt|pt)$", "", (name or "").strip(), flags=re.IGNORECASE).casefold()
    wanted = re.sub(r"\s*\[[0-9a-f]+\]$", "", wanted)
    if not wanted:
        return None
    for item in items:
        if wanted in (str(item.versionid).casefold(), str(item.model_name).strip().casefold()):
            return item
    return None


def _controlnet_unit_initial(cn: dict, types) -> dict | None:
    """A ControlNet unit's initial values from an sd-webui-controlnet unit (Model is our type in our files)."""
    known = sorted({*rules.CN_PROCESSORS, *types}, key=len, reverse=True)
    model, module = str(cn.get("model", "")).casefold(), str(cn.get("module", "")).casefold()
    kind = next((t for t in known if model == t.casefold()), None)
    kind = kind or next((t for t in known if t.casefold() in model or t.casefold() in module), None)
    if kind is None:
        return None
    unit = {"cn": kind}
    for key, source in (("weight", "weight"), ("guidance_start", "start"), ("guidance_end", "end")):
        if cn.get(source) is not None:
            unit[key] = cn[source]
    processors = rules.CN_PROCESSORS.get(kind, [])
    if cn.get("module") in processors:
        unit["control_processor"] = cn["module"]
    elif processors:
        unit["control_processor"] = processors[0]
    options = rules.CN_OPTIONS.get(kind, [])
    if "low_threshold" in options and cn.get("threshold_a") is not None:
        unit["low_threshold"] = int(cn["threshold_a"])
    if "high_threshold" in options and cn.get("threshold_b") is not None:
        unit["high_threshold"] = int(cn["threshold_b"])
    if "down_sample_rate" in options and cn.get("threshold_a") is not None:
        unit["down_sample_rate"] = cn["threshold_a"]
    return unit


def _side(value: int) -> int:
    return _clamp(int(round(value / 8) * 8), *rules.SIDE)


def to_generate_initial(found: Found, *, base_models=(), loras=None, controlnets=()):
    """(initial, units, notes): the Generate form's initial values from what an image carries (the shape
    ``submission.initial_from_task`` returns), ControlNet units without their images, and one readable sentence
    for each thing that does not map to Miaohua. ``base_models`` / ``loras`` (catalog entries with versionid and
    model_name; None when the list is not loaded) decide which names are Miaohua's."""
    values, notes = found.values, list(found.notes)
    ours = values.get("miaohua") or {}
    initial: dict = {}

    def text(name, label):
        value = values.get(name) or ""
        if len(value) > rules.PROMPT_MAX:
            notes.append(
                gettext("The %(field)s is longer than Miaohua's %(max)s characters: it was cut.")
                % {"field": label, "max": rules.PROMPT_MAX}
            )
            value = value[: rules.PROMPT_MAX]
        return value

    if values.get("prompt"):
        initial["prompt"] = text("prompt", gettext("prompt"))
    if values.get("neg_prompt"):
        initial["neg_prompt"] = text("neg_prompt", gettext("negative prompt"))

    steps = values.get("steps")
    if steps is not None:
        initial["ddim_steps"] = _clamp(steps, *rules.STEPS)
        if initial["ddim_steps"] != steps:
            notes.append(
                gettext("Steps %(value)s is outside Miaohua's %(low)s–%(high)s: %(used)s is used.")
                % {"value": steps, "low": rules.STEPS[0], "high": rules.STEPS[1], "used": initial["ddim_steps"]}
            )
    scale = values.get("scale")
    if scale is not None:
        initial["scale"] = _clamp(int(math.floor(scale + 0.5)), *rules.SCALE)
        if initial["scale"] != scale:
            notes.append(
                gettext(
                    "CFG scale %(value)s becomes %(used)s: Miaohua's guidance scale is a whole number from "
                    "%(low)s to %(high)s."
                )
                % {"value": _number(scale), "used": initial["scale"], "low": rules.SCALE[0], "high": rules.SCALE[1]}
            )
    seed = values.get("seed")
    if seed is not None:
        if rules.SEED[0] <= seed <= rules.SEED[1]:
            initial["select_seed"] = seed
        else:
            initial["select_seed"] = -1
            notes.append(
                gettext("The seed %(seed)s is beyond Miaohua's largest (%(max)s): a random seed is used instead.")
                % {"seed": seed, "max": f"{rules.SEED[1]:,}"}
            )
    width, height = values.get("width"), values.get("height")
    if width and height:
        w, h = _side(width), _side(height)
        initial.update(output_size=f"{w}x{h}", width=w, height=h)
        if (w, h) != (width, height):
            notes.append(
                gettext(
                    "The size %(size)s becomes %(used)s: Miaohua takes %(low)s–%(high)s pixels a side, in steps of 8."
                )
                % {"size": f"{width}×{height}", "used": f"{w}×{h}", "low": rules.SIDE[0], "high": rules.SIDE[1]}
            )
    n_images = ours.get("n_images") or values.get("n_images")
    if n_images:
        initial["n_images"] = _clamp(n_images, *rules.N_IMAGES)
    if ours:
        initial["add_prompt"] = bool(ours.get("add_prompt"))

    strength = values.get("strength")
    if strength is not None:
        initial["strength"] = _clamp(round(strength, 2), 0.0, 1.0)
        notes.append(
            gettext(
                "This image was made from an init image, which the file does not carry: to make it again, choose "
                "Image to image and upload that image (strength %(strength)s is filled in)."
            )
            % {"strength": _number(initial["strength"])}
        )

    model = _named(base_models, ours.get("versionid", "")) if ours.get("versionid") else None
    if ours.get("versionid") and (model is not None or not base_models):
        initial["versionid"] = model.versionid if model else ours["versionid"]
    elif values.get("model"):
        model = _named(base_models, values["model"])
        if model is not None:
            initial["versionid"] = model.versionid
        else:
            notes.append(gettext("The model %(model)s is not a Miaohua model: pick one.") % {"model": values["model"]})
    elif ours.get("versionid"):
        notes.append(gettext("The model %(model)s is not a Miaohua model: pick one.") % {"model": ours["versionid"]})

    found_loras = [(name, weight) for name, weight in values.get("loras") or [] if name]
    if found_loras:
        name, weight = found_loras[0]
        lora = _named(loras, name) if loras else None
        if lora is not None or (loras is None and ours):
            initial["lora_versionid"] = lora.versionid if lora else name
            initial["lora_weight"] = _clamp(weight if weight is not None else 0.8, *rules.WEIGHT)
        else:
            notes.append(gettext("The LoRA %(lora)s is not a Miaohua LoRA: pick one if you want one.") % {"lora": name})
        if len(found_loras) > 1:
            left = ", ".join(n for n, _w in found_loras[1:])
            notes.append(
                ngettext(
                    "Miaohua takes one LoRA: %(loras)s was left out.",
                    "Miaohua takes one LoRA: %(loras)s were left out.",
                    len(found_loras) - 1,
                )
                % {"loras": left}
            )

    units = []
    types = [getattr(c, "name", c) for c in controlnets]
    for index, cn in enumerate(values.get("controlnets") or []):
        unit = _controlnet_unit_initial(cn, types)
        if unit is None:
            notes.append(
                gettext("ControlNet %(number)s (%(model)s) is not a Miaohua ControlNet type: it was left out.")
                % {"number": index + 1, "model": cn.get("model") or cn.get("module") or "?"}
            )
        elif len(units) < rules.MAX_CONTROLNETS:
            units.append(unit)
            notes.append(
                gettext("ControlNet %(number)s (%(type)s) needs its control image again: the file does not carry it.")
                % {"number": len(units), "type": unit["cn"]}
            )

    if values.get("sampler"):
        notes.append(
            gettext("Miaohua chooses its own sampler: %(sampler)s is not used.") % {"sampler": values["sampler"]}
        )
    ignored = [key for key in values.get("ignored") or [] if key]
    if ignored:
        notes.append(gettext("Not used by Miaohua: %(settings)s.") % {"settings": ", ".join(ignored)})
    return initial, units, notes
