from django import template
from django.utils import timezone

from miaohua_site.text import human_duration

register = template.Library()

@register.filter
def elapsed(task) -> str:
    """Seconds from the click to the end (or to now, while it runs): "8 s", "2 min 5 s"."""
    return human_duration(((task.finished_at or timezone.now()) - task.created_at).total_seconds())


@register.filter
def pending_slots(task):
    """Placeholders for the images still to come."""
    return range(max(0, (task.n_images or 1) - len(task.images.all())))
