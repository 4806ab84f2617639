"""Messages written into the database by workers and services, shown later in the reader's language (issue #11).

A task's or a training job's ``error_message`` is written once (often by a worker, where no one's language is
active) and read by whoever opens the page, in English or Chinese. It is therefore always stored in English —
the text the logs, the search and the CSV exports see — and translated when shown: ``shown(text)`` (the template
filter ``|stored_message``) looks the text up in the catalog, and for a message with values in it
(``"Timed out after {minutes} minutes."``) matches it against the templates registered with ``stored()`` and fills
the translated template with the same values. Text that matches nothing (an old row, the vendor's own ``msg``) is
shown as it is.

    TIMED_OUT = stored(gettext_noop("Miaohua did not finish in {minutes} minutes."))
    task.error_message = english(TIMED_OUT, minutes=15)      # stored
    {{ task.error_message|stored_message }}                 # shown: "妙画未在 15 分钟内完成。"

Plain messages without values need no registration: ``english(gettext_lazy("…"))`` or ``str()`` of a lazy string
under ``translation.override("en")`` stores the msgid, which the catalog translates.
"""

from __future__ import annotations

import re
import string

from django.utils import translation
from django.utils.translation import gettext

_TEMPLATES: dict[str, re.Pattern] = {}


def _pattern(template: str) -> re.Pattern:
    parts = []
    for literal, field, _spec, _conv in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if field is not None:
            name = field or f"_{len(parts)}"
            parts.append(f"(?P<{name}>.*?)" if f"(?P<{name}>" not in "".join(parts) else f"(?P={name})")
    return re.compile("".join(parts), re.DOTALL)


def stored(template: str) -> str:
    """Register a message template (``{name}`` placeholders) that is stored in English and shown translated."""
    _TEMPLATES.setdefault(str(template), _pattern(str(template)))
    return template


def english(template, **values) -> str:
    """The text to store: the English ``template`` (a str or a lazy string) filled with ``values``."""
    with translation.override("en"):
        text = str(template)
        return text.format(**values) if values else text


def shown(text: str | None) -> str:
    """A stored English message in the active language (see the module's docstring)."""
    if not text:
        return text or ""
    text = str(text)  # a lazy message (a vendor error's user_message) is looked up as its text
    translated = gettext(text)
    if translated != text:
        return translated
    # Of the templates that match, the one whose own words cover most of the text ("This image is over {mb} MB"
    # before "This image is {size} MB" for "This image is over 5 MB").
    best, best_values, covered = None, None, -1
    for template, pattern in _TEMPLATES.items():
        match = pattern.fullmatch(text)
        if match:
            own = len(text) - sum(len(v) for v in match.groupdict().values())
            if own > covered:
                best, best_values, covered = template, match.groupdict(), own
    if best is None:
        return text
    target = gettext(best)
    if target == best:
        return text
    try:
        return target.format(**{k: shown(v) for k, v in best_values.items()})
    except (KeyError, IndexError, ValueError):
        return text
