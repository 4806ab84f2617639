from django.utils.functional import SimpleLazyObject


def queue(request):
    """The navigation's "my queue" badge, on every page: one COUNT query, made only when a template shows the
    badge (a fragment such as a polled task card does not)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from generation.selectors import queue_count

    return {"queue_count": SimpleLazyObject(lambda: queue_count(user))}
