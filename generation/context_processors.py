def queue(request):
    """The navigation's "my queue" badge, on every page (one COUNT query)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from generation.selectors import queue_count

    return {"queue_count": queue_count(user)}
