from django import template
from django.utils import timezone

register = template.Library()

FINAL = {"done", "failed"}


@register.filter
def is_final(task) -> bool:
    return task.state in FINAL


@register.filter
def elapsed(task) -> str:
    """Seconds from the click to the end (or to now, while it runs): "8 s", "2 min 5 s"."""
    end = task.finished_at or timezone.now()
    seconds = max(0, int((end - task.created_at).total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


@register.filter
def pending_slots(task):
    """Placeholders for the images still to come."""
    return range(max(0, (task.n_images or 1) - len(task.images.all())))
