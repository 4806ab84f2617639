"""Every id and number a request carries is read here (or by a form's ``IdField``), so a word, a fraction or an
id beyond the database's signed 64-bit range is a plain 400, never a 500 deep in a query (issue #9 §2).

``int_param(request.GET, "image")`` is None when the parameter is absent or empty, the number when it is a whole
number in range, and raises ``BadParameter`` (a 400 with the message shown) otherwise."""

import re
from datetime import date, datetime, time

from django import forms
from django.core.exceptions import BadRequest
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

DB_ID_MAX = 2**63 - 1  # BigAutoField, SQLite INTEGER and PostgreSQL bigint alike
_DIGITS = re.compile(r"[0-9]{1,19}")  # ASCII only: "²".isdigit() is True, and int("²") fails


class BadParameter(BadRequest):
    """A request parameter that cannot be what it claims; its message says which and why, in plain words."""


def parse_id(raw) -> int | None:
    """A database id from text: a positive whole number within the 64-bit range, else None."""
    if not isinstance(raw, str) or not _DIGITS.fullmatch(raw):
        return None
    value = int(raw)
    return value if 1 <= value <= DB_ID_MAX else None


def int_param(data, name: str, *, default=None):
    """The id ``name`` of a QueryDict (GET or POST): None (``default``) when absent or empty."""
    raw = data.get(name, "")
    if raw in ("", None):
        return default
    value = parse_id(raw.strip())
    if value is None:
        message = _("“%(name)s” must be a whole number (an id), not “%(value)s”.")
        raise BadParameter(message % {"name": name, "value": _shown(raw)})
    return value


def int_list(data, name: str, *, limit: int | None = 1000) -> list[int]:
    """Every id given as ``name`` (checkboxes: several values), without repeats, at most ``limit``."""
    values = []
    for raw in data.getlist(name):
        if raw.strip() == "":
            continue
        value = parse_id(raw.strip())
        if value is None:
            message = _("Each “%(name)s” must be a whole number (an id), not “%(value)s”.")
            raise BadParameter(message % {"name": name, "value": _shown(raw)})
        values.append(value)
    return list(dict.fromkeys(values))[:limit]


def page_param(data, name: str = "page", *, maximum: int = 1000) -> int:
    """A page number: 1 when absent or not a number, at most ``maximum``."""
    value = parse_id(data.get(name, ""))
    return min(value, maximum) if value else 1


def safe_next(request, default: str | None = None) -> str | None:
    """The ``next`` parameter (POST, then GET) when it is a path on this site ("/…", not "//…"), else ``default``.
    Anything else — another host, a scheme, a word like "abc" that redirect() would take for a view name — is
    ignored."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if (
        target.startswith("/")
        and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure())
        and "\x00" not in target
    ):
        return target
    return default


def _shown(raw: str) -> str:
    return raw.replace("\x00", "")[:40]


class IdField(forms.IntegerField):
    """A hidden id in a form: a whole number within the database's range (a tampered one is a field error)."""

    def __init__(self, *, what: str = "This", **kwargs):
        """``what`` names the thing in the message of a tampered value ("The chosen init image")."""
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", DB_ID_MAX)
        kwargs.setdefault("widget", forms.HiddenInput)
        message = format_lazy(
            gettext_lazy("{what} is not a valid choice (it must be a whole number, an id): choose it again."), what=what
        )
        kwargs["error_messages"] = {"invalid": message, "min_value": message, "max_value": message}
        super().__init__(**kwargs)


class IdConverter:
    """``<id:pk>`` in URLs: like ``<int:pk>``, bounded to the database's range (beyond it: 404, not a 500)."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > DB_ID_MAX:
            raise ValueError("beyond the database's range")
        return number

    def to_url(self, value) -> str:
        return str(value)


DATE_MESSAGE = gettext_lazy("Use a date like 2026-11-24.")


def parse_day(raw: str) -> date | None:
    """A date typed as YYYY-MM-DD, or None — also for a day not in the calendar (2026-02-31) and for the
    calendar's far ends, which overflow once a day is shifted to UTC or one is added."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        return None
    try:
        day = parse_date(raw)
    except ValueError:
        return None
    return day if day is not None and 1900 <= day.year <= 9000 else None


def date_range(data, errors: dict) -> tuple[date | None, date | None]:
    """A filter's ``from`` and ``to`` days; a bad one is None with its message in ``errors`` (beside its field),
    as is an end before the start."""
    days = []
    for key in ("from", "to"):
        raw = (data.get(key) or "").strip()
        day = parse_day(raw) if raw else None
        if raw and day is None:
            errors[key] = DATE_MESSAGE
        days.append(day)
    if days[0] and days[1] and days[0] > days[1]:
        errors["to"] = _("The end date is before the start date.")
    return days[0], days[1]


def day_start(day: date) -> datetime:
    """Midnight of ``day`` in the site's time zone (the dates a person types are theirs)."""
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())
