"""Keyset paging's cursors, shared by every paged list (history, trash, collections, the audit log): a page after
the row (moment, id) is asked for with an opaque token that says just that, never an OFFSET."""

import base64
import binascii
from datetime import UTC, datetime

from django.utils import timezone
from django.utils.dateparse import parse_datetime


def keyset_cursor(moment: datetime, pk: int) -> str:
    """The cursor of the page after the row (moment, pk)."""
    return base64.urlsafe_b64encode(f"{moment.isoformat()}|{pk}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int] | None:
    """The (moment, id) of a cursor, or None for anything we did not write: the page then starts from the top.
    Ours always carry a time zone; a forged one at the edge of the calendar (year 1 or 9999 with an offset)
    would overflow when the database adapter converts it, so it is converted here."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, _, pk = raw.partition("|")
        moment = parse_datetime(stamp)
        if moment is None or timezone.is_naive(moment):
            return None
        return moment.astimezone(UTC), int(pk)
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError):
        return None
