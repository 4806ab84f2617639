"""Finding English a person would read on a page served in Chinese: text nodes and the attributes people see
(title, placeholder, aria-label, alt, hx-confirm, a button's value), not scripts, styles, URLs, ids or code."""

import re
from html.parser import HTMLParser

# Words that stay as they are in the Chinese interface: names, units, formats, protocol words.
KEPT = {
    "miaohua", "sensetime", "studio", "lora", "loras", "controlnet", "zip", "csv", "json", "png", "jpeg", "jpg",
    "webp", "gif", "svg", "api", "url", "http", "https", "html", "id", "ids", "ai", "cfg", "sd", "sdxl", "utf",
    "email", "e-mail", "htmx", "django", "csrf", "ok", "px", "kb", "mb", "gb", "ms", "ddim", "canny", "openpose",
    "depth", "mlsd", "hed", "scribble", "seg", "normal", "lineart", "softedge", "shuffle", "tile", "inpaint",
    "img2img", "txt2img", "xmp", "exif", "automatic1111", "comfyui", "swarmui", "invokeai", "redis", "postgresql",
    "sqlite", "gunicorn", "chromium", "english", "admin", "pk", "uuid", "sha256", "fernet", "usd", "cny", "rmb",
    "utc", "gmt", "vs", "am", "pm", "q2",
    "esc", "ctrl", "cmd", "alt", "shift", "enter", "mac",  # keys and platforms, as printed on keyboards
}
SEEN_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt", "hx-confirm", "data-confirm", "aria-description",
                   "data-bs-title", "aria-valuetext"}
SKIPPED_TAGS = {"script", "style", "code", "pre", "kbd", "samp", "svg"}  # not read as words (or code people copy)
WORD = re.compile(r"(?<![\w@/.:-])[A-Za-z][a-z]{2,}(?:'[a-z]+)?(?![\w@/.:-])")


class _Reader(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []
        self.found: list[str] = []

    def _skipping(self) -> bool:
        return any(skip for _, skip in self.stack)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        skip = tag in SKIPPED_TAGS or attrs.get("translate") == "no" or "visually-hidden-focusable" in ""
        if not self._skipping() and not skip:
            for name in SEEN_ATTRIBUTES:
                if attrs.get(name):
                    self.found.append(attrs[name])
            if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
                self.found.append(attrs["value"])
        if tag not in {"br", "img", "input", "meta", "link", "hr", "source", "col", "area", "wbr", "base", "path",
                       "circle", "rect", "line", "polyline", "use"}:
            self.stack.append((tag, skip))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if self.stack and self.stack[-1][0] == tag:
            self.stack.pop()

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        if not self._skipping() and data.strip():
            self.found.append(data)


def english_left(html: str, kept_words: set[str] = frozenset()) -> list[str]:
    """The texts of ``html`` that hold an English word (three letters or more) not in KEPT or ``kept_words``
    (the page's own data: prompts, names, e-mail addresses a person typed)."""
    reader = _Reader()
    reader.feed(html)
    kept = KEPT | {w.lower() for w in kept_words}
    left = []
    for text in reader.found:
        words = [w for w in WORD.findall(text) if w.lower().strip("'") not in kept]
        if words:
            left.append(" ".join(text.split())[:120])
    return list(dict.fromkeys(left))


def words_of(*texts) -> set[str]:
    found = set()
    for text in texts:
        found |= {w.lower() for w in re.findall(r"[A-Za-z]+", str(text or ""))}
    return found


LOOSE_SPACE = re.compile(r"[。，：；！？）」]\s+[\u4e00-\u9fff]|[\u4e00-\u9fff]\s+[（「][\u4e00-\u9fff]")


def loose_spaces(html: str) -> list[str]:
    """Chinese sentences joined with a space (two translated sentences side by side in a template): "完成。 下一步"."""
    reader = _Reader()
    reader.feed(html)
    texts = [" ".join(text.split()) for text in reader.found]
    return list(dict.fromkeys(text[:120] for text in texts if LOOSE_SPACE.search(text)))
