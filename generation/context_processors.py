import functools

from django.utils.functional import SimpleLazyObject


def queue(request):
    """The navigation's "my queue" badge, on every page: one COUNT query, made only when a template shows the
    badge (a fragment such as a polled task card does not); while something is on its way, where the user's next
    task stands (two more)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from generation.selectors import next_queue_position, queue_count

    return {
        "queue_count": SimpleLazyObject(lambda: queue_count(user)),
        # A callable (the template calls it, once: cached) rather than a lazy object, so filters get a number.
        "queue_position": functools.cache(lambda: next_queue_position(user)),
    }
