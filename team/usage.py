"""Usage: images and tasks per member, model and LoRA, per day / week / month; failures by reason; training jobs.

Plain reads (selectors). Each answer is a handful of GROUP BY queries whatever the size of the history — never a
query per row — and runs the same on SQLite and PostgreSQL. Periods are cut in the site's time zone
(``settings.TIME_ZONE``): a day is the team's day, not UTC's.

What counts:
- a *task* is any task created in the range (trashed ones too: they were sent; purged ones are gone);
- *images* are the ``n_images`` of the tasks that finished (done): what Miaohua made, whether or not our copy of
  each image has been stored yet;
- a *failure* is a failed task; its reason is the first sentence of its message, so ids and numbers told after
  it do not split one reason into many."""

import csv
import io
import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Case, CharField, Count, F, Func, Max, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce, StrIndex, Substr, TruncDay, TruncMonth, TruncWeek
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, gettext_lazy, gettext_noop, ngettext, pgettext_lazy

from generation import catalog
from generation.models import GenerationTask
from miaohua_site.params import date_range, day_start, parse_id
from training.models import TrainingJob

PERIODS = {"day": gettext_lazy("Day"), "week": gettext_lazy("Week"), "month": gettext_lazy("Month")}
_TRUNC = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}
BREAKDOWNS = {"member": gettext_lazy("Member"), "model": gettext_lazy("Model"), "lora": "LoRA"}
WORDS = {  # in a sentence
    "member": (pgettext_lazy("usage breakdown", "member"), pgettext_lazy("usage breakdown", "members")),
    "model": (pgettext_lazy("usage breakdown", "model"), pgettext_lazy("usage breakdown", "models")),
    "lora": ("LoRA", "LoRAs"),
}
# The CSV's column headers and its "breakdown" column stay in English whatever the page's language: the file is
# machine-read (scripts, spreadsheets' lookups), the same for everyone.
CSV_BREAKDOWNS = {"member": "Member", "model": "Model", "lora": "LoRA"}
_KEY_FIELD = {"member": "owner_id", "model": "model_name", "lora": "lora_versionid"}
DEFAULT_DAYS = 30
MAX_PERIODS = 400  # bars in the chart and rows in the table
TOP = 5  # the chart and the table show the top five of the breakdown and "Other"
OTHER = gettext_noop("Other")  # translated when a report is made (in the request)
MAX_REASONS = 30
REASON_CHARS = 300
# Reasons of the failures table that are no failure's message: shown translated (|stored_message).
NO_REASON = gettext_noop("No reason recorded")
NO_IMAGES = gettext_noop("No images in this range")  # the empty chart
OTHER_REASONS = gettext_noop("Other reasons")


# --- Filters, as they live in the URL -------------------------------------------------------------------------


@dataclass
class UsageFilters:
    date_from: date
    date_to: date
    period: str = "day"
    breakdown: str = "member"
    member: int | None = None  # the id asked for (admins: anyone's; others: only their own)
    errors: dict = field(default_factory=dict)

    @classmethod
    def from_query(cls, params, *, today: date | None = None, breakdown: str = "member") -> "UsageFilters":
        """The filters of a query string; a bad value keeps its message in ``errors`` (shown beside its field).
        Without dates: the last 30 days, today included; without a period, one that suits the range's length;
        without a breakdown, ``breakdown``."""
        default_breakdown = breakdown
        today = today or timezone.localdate()
        errors: dict = {}
        start, end = date_range(params, errors)
        if end is None:
            end = max(today, start) if start else today
        if start is None:
            start = end - timedelta(days=DEFAULT_DAYS - 1)
        if start > end:  # date_range said why; show something sensible beside the message
            start = end
        period = (params.get("period") or "").strip() or default_period(start, end)
        if period not in PERIODS:
            errors["period"] = gettext("Choose day, week or month.")
            period = default_period(start, end)
        breakdown = (params.get("breakdown") or default_breakdown).strip()
        if breakdown not in BREAKDOWNS:
            errors["breakdown"] = gettext("Choose member, model or LoRA.")
            breakdown = default_breakdown
        raw_member = (params.get("member") or "").strip()
        member = parse_id(raw_member)
        if raw_member and member is None:
            errors["member"] = gettext("Choose a person from the list.")
        filters = cls(start, end, period, breakdown, member, errors)
        if "period" not in errors and len(period_starts(filters)) > MAX_PERIODS:
            too_many = {
                "day": gettext("That is more than %(max)s days: choose week or month, or a shorter range."),
                "week": gettext("That is more than %(max)s weeks: choose month, or a shorter range."),
                "month": gettext("That is more than %(max)s months: choose a shorter range."),
            }
            errors["period"] = too_many[period] % {"max": MAX_PERIODS}
        return filters

    def query(self) -> str:
        """The query string of these filters, for links (the CSV of what the page shows)."""
        values = {
            "from": self.date_from.isoformat(),
            "to": self.date_to.isoformat(),
            "period": self.period,
            "breakdown": self.breakdown,
            "member": self.member or "",
        }
        return urlencode({key: value for key, value in values.items() if value not in ("", None)})


def people() -> list:
    """Whom an admin may pick: everyone with an account (a team is small), by user name."""
    return list(get_user_model().objects.order_by("username").only("id", "username"))


def default_period(start: date, end: date) -> str:
    """Without a choice: days for up to three months, weeks for up to two years, months beyond (readable bars)."""
    days = (end - start).days + 1
    return "day" if days <= 92 else "week" if days <= 731 else "month"


def _in_range(rows: QuerySet, filters: UsageFilters, owner_id: int | None) -> QuerySet:
    rows = rows.filter(
        created_at__gte=day_start(filters.date_from), created_at__lt=day_start(filters.date_to + timedelta(days=1))
    )
    return rows.filter(owner_id=owner_id) if owner_id is not None else rows


def _period_expression(filters: UsageFilters):
    """The start of the period a row's ``created_at`` falls in, in the site's time zone: Django's Trunc* with
    the zone — except on SQLite, where Django truncates each row in a Python function (about 4 s for 100,000
    rows, docs/BENCHMARKS.md "Usage"). There SQLite's own ``date()`` shifts the UTC moment by the zone's offset
    (each offset up to the exact moment it changed, for zones with summer time) and cuts it to the period."""
    tz = timezone.get_current_timezone()
    if connection.vendor != "sqlite":
        return _TRUNC[filters.period]("created_at", tzinfo=tz)
    start, end = day_start(filters.date_from), day_start(filters.date_to + timedelta(days=1))
    spans = utc_offsets(start, end, tz)
    shift = Value(f"{spans[-1][1]:+d} seconds")
    if len(spans) > 1:
        shift = Case(
            *[When(created_at__lt=until, then=Value(f"{seconds:+d} seconds")) for until, seconds in spans[:-1]],
            default=shift,
        )
    cut = {"day": [], "week": ["-6 days", "weekday 1"], "month": ["start of month"]}[filters.period]
    return Func(F("created_at"), shift, *map(Value, cut), function="date", output_field=CharField())


def utc_offsets(start: datetime, end: datetime, tz) -> list[tuple[datetime | None, int]]:
    """The zone's UTC offsets (seconds) over [start, end): [(the moment it ends, offset), …, (None, last)]. Found
    a week at a time, each change then to the second (zones change their offset at most twice a year)."""

    def offset(moment: int) -> int:
        return int(datetime.fromtimestamp(moment, tz).utcoffset().total_seconds())

    spans: list[tuple[datetime | None, int]] = []
    moment, last = int(start.timestamp()), int(end.timestamp())
    current = offset(moment)
    while moment < last:
        ahead = min(moment + 7 * 86400, last)
        if offset(ahead) != current:
            low, high = moment, ahead  # offset(low) is current, offset(high) is not
            while high - low > 1:
                middle = (low + high) // 2
                low, high = (middle, high) if offset(middle) == current else (low, middle)
            spans.append((datetime.fromtimestamp(high, tz), current))
            current = offset(high)
        moment = ahead
    spans.append((None, current))
    return spans


def _period_of(value) -> date:
    """The start of the period a row falls in, as a date of the site's time zone."""
    if isinstance(value, str):  # SQLite's date()
        return date.fromisoformat(value)
    if isinstance(value, datetime):  # Trunc*: already in the zone it was truncated in
        return value.date()
    return value


def period_start(day: date, period: str) -> date:
    if period == "week":
        return day - timedelta(days=day.weekday())  # Monday, as TruncWeek (ISO 8601)
    if period == "month":
        return day.replace(day=1)
    return day


def _next(start: date, period: str) -> date:
    if period == "week":
        return start + timedelta(days=7)
    if period == "month":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start + timedelta(days=1)


def period_starts(filters: UsageFilters) -> list[date]:
    """Every period of the range, empty ones too (a bar of zero is a fact). Stops past MAX_PERIODS + 1."""
    starts, current = [], period_start(filters.date_from, filters.period)
    while current <= filters.date_to and len(starts) <= MAX_PERIODS:
        starts.append(current)
        current = _next(current, filters.period)
    return starts


def period_label(start: date, period: str, *, short: bool = False) -> str:
    if period == "month":
        return start.strftime("%Y-%m")
    return start.strftime("%m-%d") if short else start.isoformat()


# --- Counting -------------------------------------------------------------------------------------------------


@dataclass
class Counts:
    tasks: int = 0
    images: int = 0
    failed: int = 0

    def add(self, other: "Counts") -> None:
        self.tasks += other.tasks
        self.images += other.images
        self.failed += other.failed


@dataclass
class Key:
    """One member, model or LoRA of the breakdown: its raw value (user id, model name, versionid) and its name."""

    value: str
    name: str
    counts: Counts = field(default_factory=Counts)
    series: int = TOP  # its colour in the chart: 0–4 for the top five, TOP for "Other"


@dataclass
class Row:
    """One period of the table: its counts per shown column (top five + Other) and in all."""

    start: date
    label: str
    cells: list[Counts]
    total: Counts


@dataclass
class Usage:
    filters: UsageFilters
    periods: list[date]
    keys: list[Key]  # every member / model / LoRA with usage, most images first
    columns: list[Key]  # the top five and, when there are more, "Other"
    rows: list[Row]
    total: Counts
    records: list[tuple[date, Key, Counts]]  # period × breakdown as counted, in no order (the CSV sorts them)

    @property
    def empty(self) -> bool:
        return self.total.tasks == 0


def usage_report(
    filters: UsageFilters, *, owner_id: int | None, people: dict | None = None, lora_account=None
) -> Usage:
    """Tasks, images and failures per period × breakdown: one GROUP BY query, and one for the names (members'
    unless ``people`` has them, {id: user name}; LoRAs' trained by the team)."""
    key_field = _KEY_FIELD[filters.breakdown]
    grouped = (
        _in_range(GenerationTask.objects.all(), filters, owner_id)
        .annotate(period=_period_expression(filters))
        .values("period", key_field)
        .annotate(
            tasks=Count("id"),
            images=Coalesce(Sum("n_images", filter=Q(state=GenerationTask.State.DONE)), 0),
            failed=Count("id", filter=Q(state=GenerationTask.State.FAILED)),
        )
        .order_by()
    )
    counted = [
        (
            _period_of(row["period"]),
            str(row[key_field] or ""),
            Counts(row["tasks"], row["images"], row["failed"]),
        )
        for row in grouped
    ]
    names = _names(filters.breakdown, {value for _, value, _ in counted}, people=people, lora_account=lora_account)
    keys: dict[str, Key] = {}
    for _, value, counts in counted:
        keys.setdefault(value, Key(value, names.get(value, value))).counts.add(counts)
    ranked = sorted(keys.values(), key=lambda k: (-k.counts.images, -k.counts.tasks, k.name.lower()))
    for index, key in enumerate(ranked[:TOP]):
        key.series = index
    columns = ranked[:TOP]
    if len(ranked) > TOP:
        other = Key("", gettext(OTHER), series=TOP)
        for key in ranked[TOP:]:
            other.counts.add(key.counts)
        columns = [*columns, other]
    periods = period_starts(filters)
    table = {
        start: Row(start, period_label(start, filters.period), [Counts() for _ in columns], Counts())
        for start in periods
    }
    total = Counts()
    for start, value, counts in counted:
        row = table.get(start)
        if row is None:  # cannot happen: every task of the range falls in one of its periods
            continue
        row.cells[min(keys[value].series, len(columns) - 1)].add(counts)
        row.total.add(counts)
        total.add(counts)
    records = [(start, keys[value], counts) for start, value, counts in counted]
    return Usage(filters, periods, ranked, columns, list(table.values()), total, records)


def _usernames(ids, people: dict | None) -> dict[int, str]:
    ids = set(ids)
    if people is not None and ids <= people.keys():
        return {pk: people[pk] for pk in ids}
    return dict(get_user_model().objects.filter(pk__in=ids).values_list("pk", "username")) if ids else {}


def _names(breakdown: str, values: set[str], *, people: dict | None, lora_account=None) -> dict[str, str]:
    if breakdown == "member":
        found = _usernames((int(value) for value in values if value.isdigit()), people)
        return {str(pk): username for pk, username in found.items()}
    if breakdown == "model":
        return {"": gettext("(no model)")}
    return {**lora_names(values - {""}, account=lora_account), "": gettext("No LoRA")}


def lora_names(versionids: set[str], *, account=None) -> dict[str, str]:
    """The names of LoRAs: from the LoRA catalog in the cache (never the vendor), the account's own models when
    it is given, and the team's trained LoRAs (one query). A LoRA found nowhere keeps its id."""
    if not versionids:
        return {}
    specs = [("lora",), ("private",)] if account is not None else [("lora",)]
    names = {}
    for entry in catalog.read(account, specs).values():
        for model in entry.value or []:
            if model.versionid in versionids:
                names.setdefault(model.versionid, model.model_name)
    trained = TrainingJob.objects.filter(lora_versionid__in=versionids - names.keys()).exclude(lora_model_name="")
    for versionid, name in trained.values_list("lora_versionid", "lora_model_name"):
        names.setdefault(versionid, name)
    return names


# --- Failures -------------------------------------------------------------------------------------------------


@dataclass
class Reason:
    reason: str
    count: int
    last: object  # the newest failure's time


_SENTENCE_END = re.compile(r"(?<=[.!?])\s|(?<=[。！？])")


def first_sentence(message: str) -> str:
    """The reason of a failure message: its first sentence, blanks made single, at most 300 characters."""
    text = " ".join((message or "").split())
    text = _SENTENCE_END.split(text, maxsplit=1)[0].strip()
    return text[:REASON_CHARS] or NO_REASON


def failures_by_reason(filters: UsageFilters, *, owner_id: int | None) -> tuple[list[Reason], int]:
    """Failed tasks grouped by the first sentence of their message, most frequent first; at most 30 reasons
    (the rest as "Other reasons"). One query: the database cuts each message at its first ". ", Python merges
    what that leaves apart (other sentence ends, blanks). Returns (reasons, failed in all)."""
    failed = _in_range(GenerationTask.objects.filter(state=GenerationTask.State.FAILED), filters, owner_id)
    grouped = (
        failed.annotate(dot=StrIndex("error_message", Value(". ")))
        .annotate(
            head=Case(
                When(dot__gt=0, then=Substr("error_message", 1, F("dot"))),
                default=Substr("error_message", 1, REASON_CHARS + 50),
            )
        )
        .values("head")
        .annotate(count=Count("id"), last=Max("created_at"))
        .order_by()
    )
    merged: dict[str, Reason] = {}
    for row in grouped:
        reason = first_sentence(row["head"])
        known = merged.get(reason)
        if known is None:
            merged[reason] = Reason(reason, row["count"], row["last"])
        else:
            known.count += row["count"]
            known.last = max(known.last, row["last"])
    reasons = sorted(merged.values(), key=lambda r: (-r.count, r.reason))
    total = sum(r.count for r in reasons)
    if len(reasons) > MAX_REASONS:
        rest = reasons[MAX_REASONS - 1 :]
        reasons = [
            *reasons[: MAX_REASONS - 1],
            Reason(OTHER_REASONS, sum(r.count for r in rest), max(r.last for r in rest)),
        ]
    return reasons, total


# --- Training jobs --------------------------------------------------------------------------------------------


TRAINING_STATES = list(TrainingJob.State)


@dataclass
class TrainingLine:
    label: str
    by_state: list[int]
    total: int


@dataclass
class TrainingUsage:
    states: list
    periods: list[TrainingLine]  # only the periods with a job
    owners: list[TrainingLine]
    total: TrainingLine


def training_report(filters: UsageFilters, *, owner_id: int | None, people: dict | None = None) -> TrainingUsage:
    """Training jobs per period and per owner, by state (one query, one for the owners' names unless ``people``
    has them)."""
    grouped = (
        _in_range(TrainingJob.objects.all(), filters, owner_id)
        .annotate(period=_period_expression(filters))
        .values("period", "owner_id", "state")
        .annotate(count=Count("id"))
        .order_by()
    )
    column = {state.value: index for index, state in enumerate(TRAINING_STATES)}
    width = len(TRAINING_STATES)
    periods: dict[date, list[int]] = {}
    owners: dict[int, list[int]] = {}
    total = [0] * width
    for row in grouped:
        index = column.get(row["state"])
        if index is None:
            continue
        start = _period_of(row["period"])
        periods.setdefault(start, [0] * width)[index] += row["count"]
        owners.setdefault(row["owner_id"], [0] * width)[index] += row["count"]
        total[index] += row["count"]
    names = _usernames(owners, people)
    return TrainingUsage(
        states=TRAINING_STATES,
        periods=[
            TrainingLine(period_label(start, filters.period), counts, sum(counts))
            for start, counts in sorted(periods.items())
        ],
        owners=sorted(
            (TrainingLine(names.get(pk, f"#{pk}"), counts, sum(counts)) for pk, counts in owners.items()),
            key=lambda line: (-line.total, line.label.lower()),
        ),
        total=TrainingLine(gettext("Total"), total, sum(total)),
    )


# --- The chart ------------------------------------------------------------------------------------------------


@dataclass
class Segment:
    y: float
    height: float
    series: int
    name: str
    value: int


@dataclass
class Bar:
    x: float
    width: float
    title: str
    segments: list[Segment]


@dataclass
class Chart:
    width: int
    height: int
    left: int
    top: int
    bottom: float  # the y of the x axis
    label_y: float  # the baseline of the x axis's labels
    tick_x: float  # where the y axis's labels end
    plot_height: float
    middle: float
    empty_y: float
    right: float
    bars: list[Bar]
    y_ticks: list[tuple[float, str]]
    x_labels: list[tuple[float, str]]
    title: str
    desc: str
    empty: bool

    def svg(self) -> SafeString:
        """The chart as inline SVG. Built here rather than in a template: a year of days is 365 bars, which the
        template language took ~0.3 s to write. Colours come from classes (static/usage.css), no inline style."""

        def n(value: float) -> str:
            return f"{value:.1f}".removesuffix(".0")

        out = [
            f'<svg class="usage-chart" id="usage-chart" viewBox="0 0 {self.width} {self.height}" role="img" '
            'aria-labelledby="usage-chart-title usage-chart-desc" xmlns="http://www.w3.org/2000/svg">',
            f'<title id="usage-chart-title">{escape(self.title)}</title>',
            f'<desc id="usage-chart-desc">{escape(self.desc)}</desc>',
            '<g class="axis">',
        ]
        for y, label in self.y_ticks:
            out.append(
                f'<line class="grid" x1="{self.left}" x2="{n(self.right)}" y1="{n(y)}" y2="{n(y)}"></line>'
                f'<text x="{n(self.tick_x)}" y="{n(y)}" dy="0.32em" text-anchor="end">{escape(label)}</text>'
            )
        for x, label in self.x_labels:
            out.append(f'<text x="{n(x)}" y="{n(self.label_y)}" text-anchor="middle">{escape(label)}</text>')
        out.append("</g>")
        for bar in self.bars:
            x, width = n(bar.x), n(bar.width)
            out.append(
                f'<g class="bar"><title>{escape(bar.title)}</title>'
                f'<rect class="hit" x="{x}" y="{self.top}" width="{width}" height="{n(self.plot_height)}"></rect>'
            )
            out.extend(
                f'<rect class="usage-s{s.series}" x="{x}" y="{n(s.y)}" width="{width}" height="{n(s.height)}"></rect>'
                for s in bar.segments
            )
            out.append("</g>")
        out.append(
            f'<line class="baseline" x1="{self.left}" x2="{n(self.right)}" y1="{n(self.bottom)}" y2="{n(self.bottom)}">'
            "</line>"
        )
        if self.empty:
            out.append(
                f'<text class="empty" x="{n(self.middle)}" y="{n(self.empty_y)}" text-anchor="middle">'
                f"{escape(gettext(NO_IMAGES))}</text>"
            )
        out.append("</svg>")
        return mark_safe("\n".join(out))  # every text in it is escaped above


CHART_WIDTH, CHART_HEIGHT = 760, 240
_LEFT, _RIGHT, _TOP, _BOTTOM = 48, 8, 10, 26
MAX_X_LABELS = 10


def nice_top(highest: int) -> tuple[int, int]:
    """The axis's top and its step: a round number (1, 2 or 5 × 10ⁿ) a little above the highest bar."""
    if highest <= 0:
        return 1, 1
    rough = highest / 4
    magnitude = 10 ** math.floor(math.log10(rough)) if rough >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= rough)
    return step * math.ceil(highest / step), step


def bar_chart(usage: Usage) -> Chart:
    """Images per period, stacked by the top five of the breakdown and "Other": the numbers of the table."""
    filters = usage.filters
    plot_width = CHART_WIDTH - _LEFT - _RIGHT
    plot_height = CHART_HEIGHT - _TOP - _BOTTOM
    bottom = _TOP + plot_height
    highest = max((row.total.images for row in usage.rows), default=0)
    top, step = nice_top(highest)
    slot = plot_width / max(1, len(usage.rows))
    gap = min(slot * 0.2, 6)
    bars = []
    for index, row in enumerate(usage.rows):
        y, segments = float(bottom), []
        for column, counts in zip(usage.columns, row.cells, strict=True):
            if not counts.images:
                continue
            height = counts.images / top * plot_height
            y -= height
            segments.append(Segment(round(y, 2), round(height, 2), column.series, column.name, counts.images))
        parts = ", ".join(f"{s.name} {s.value}" for s in segments)
        title = ngettext("%(label)s: %(n)s image", "%(label)s: %(n)s images", row.total.images) % {
            "label": row.label,
            "n": row.total.images,
        }
        if parts:
            title = gettext("%(title)s (%(parts)s)") % {"title": title, "parts": parts}
        bars.append(Bar(round(_LEFT + index * slot + gap / 2, 2), round(max(slot - gap, 0.5), 2), title, segments))
    y_ticks = [(round(bottom - value / top * plot_height, 2), f"{value:,}") for value in range(0, top + 1, step)]
    every = max(1, math.ceil(len(usage.rows) / MAX_X_LABELS))
    x_labels = [
        (round(_LEFT + (index + 0.5) * slot, 2), period_label(row.start, filters.period, short=True))
        for index, row in enumerate(usage.rows)
        if index % every == 0
    ]
    per = PERIODS[filters.period].lower()
    by = WORDS[filters.breakdown][0]
    dates = {"start": filters.date_from.isoformat(), "end": filters.date_to.isoformat()}
    desc = (
        gettext(
            "%(images)s images in all from %(start)s to %(end)s, one bar per %(per)s, stacked by %(by)s: %(list)s. "
            "The table below has the same numbers."
        )
        % {
            **dates,
            "images": f"{usage.total.images:,}",
            "per": per,
            "by": by,
            "list": "; ".join(f"{column.name} {column.counts.images:,}" for column in usage.columns),
        }
        if usage.columns
        else gettext("No images from %(start)s to %(end)s.") % dates
    )
    return Chart(
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
        left=_LEFT,
        top=_TOP,
        bottom=bottom,
        label_y=bottom + 16,
        tick_x=_LEFT - 6,
        plot_height=plot_height,
        middle=_LEFT + plot_width / 2,
        empty_y=_TOP + plot_height / 2,
        right=CHART_WIDTH - _RIGHT,
        bars=bars,
        y_ticks=y_ticks,
        x_labels=x_labels,
        title=gettext("Images per %(per)s by %(by)s") % {"per": per, "by": by},
        desc=desc,
        empty=highest == 0,
    )


# --- CSV ------------------------------------------------------------------------------------------------------


# In English on purpose (machine-read): see CSV_BREAKDOWNS.
CSV_COLUMNS = ["period", "period start", "breakdown", "name", "id", "tasks", "images", "failed"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would take such a cell for a formula


def _cell(value):
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_text(usage: Usage) -> str:
    """Period × breakdown as counted (only the pairs with tasks), with the BOM spreadsheet programs want."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    period, breakdown = usage.filters.period, CSV_BREAKDOWNS[usage.filters.breakdown]
    for start, key, counts in sorted(usage.records, key=lambda r: (r[0], r[1].series, r[1].name)):
        row = [period, start.isoformat(), breakdown, key.name, key.value, counts.tasks, counts.images, counts.failed]
        writer.writerow([_cell(value) for value in row])
    return "\ufeff" + buffer.getvalue()


def csv_filename(filters: UsageFilters) -> str:
    return f"miaohua-usage-{filters.date_from:%Y%m%d}-{filters.date_to:%Y%m%d}-{filters.period}-{filters.breakdown}.csv"
