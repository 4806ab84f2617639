"""The audit log as CSV, streamed a row at a time (never all in memory)."""

import csv
import json
from collections.abc import Iterator

from django.db.models import QuerySet
from django.utils import timezone, translation

from miaohua_site.audit.models import AuditEvent

# The CSV stays in English whatever the page's language (issue #11): its headers and action labels are read by
# scripts and spreadsheets the same way for everyone, and it matches what the database stores.
COLUMNS = ["when", "who", "action", "target type", "target id", "target", "from", "details"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would take such a cell for a formula


class _Line:
    def write(self, value: str) -> str:
        return value


def _cell(value):
    value = "" if value is None else str(value)
    return "'" + value if value.startswith(_FORMULA_START) else value


def _english_action(event: AuditEvent) -> str:
    with translation.override("en"):
        return str(event.get_action_display())


def csv_lines(events: QuerySet[AuditEvent]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield "\ufeff" + writer.writerow(COLUMNS)  # the BOM makes spreadsheet programs read UTF-8
    for event in events.iterator(chunk_size=2000):
        row = [
            timezone.localtime(event.at).isoformat(),
            event.actor_name,
            _english_action(event),
            event.target_type,
            event.target_id,
            event.target_repr,
            event.ip_address,
            json.dumps(event.details, ensure_ascii=False, sort_keys=True) if event.details else "",
        ]
        yield writer.writerow([_cell(value) for value in row])


def filename(*, when=None) -> str:
    return f"miaohua-audit-{timezone.localtime(when or timezone.now()):%Y%m%d-%H%M}.csv"
