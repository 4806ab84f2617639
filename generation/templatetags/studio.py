from django import template
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import pgettext, pgettext_lazy

from miaohua_site.text import human_duration

register = template.Library()

@register.filter
def elapsed(task) -> str:
    """Seconds from the click to the end (or to now, while it runs): "8 s", "2 min 5 s" (in Chinese "8 秒")."""
    return human_duration(((task.finished_at or timezone.now()) - task.created_at).total_seconds())


@register.filter
def pending_slots(task):
    """Placeholders for the images still to come."""
    return range(max(0, (task.n_images or 1) - len(task.images.all())))


def _plain(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "none"
    if isinstance(value, dict):
        return ", ".join(f"{key}: {_plain(item)}" for key, item in value.items())
    if isinstance(value, list | tuple):
        return "; ".join(_plain(item) for item in value)
    return str(value)


@register.filter
def param_value(value):
    """A task parameter as a person reads it: a list of settings one per line (a LoRA, a ControlNet unit), each
    as "name: value, …" — never a Python repr."""
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        return format_html_join(mark_safe("<br>"), "<code>{}</code>", ((_plain(item),) for item in value))
    return format_html("<code>{}</code>", _plain(value))


@register.filter
def in_line(position) -> str:
    """A queue position as a person says it: 1 → "next", 3 → "3rd in line"."""
    if not position:
        return ""
    position = int(position)
    if position == 1:
        return pgettext("queue position", "next")
    suffix = "th" if 10 <= position % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(position % 10, "th")
    return str(_IN_LINE[suffix]) % {"position": position}


# One sentence for each English ordinal suffix (other languages need none: "排第 3 位").
_IN_LINE = {
    "st": pgettext_lazy("queue position", "%(position)sst in line"),
    "nd": pgettext_lazy("queue position", "%(position)snd in line"),
    "rd": pgettext_lazy("queue position", "%(position)srd in line"),
    "th": pgettext_lazy("queue position", "%(position)sth in line"),
}
