from django.utils.functional import SimpleLazyObject


def roles(request):
    """``can_generate``: whether the signed-in person may send work and change things (members and admins, not
    viewers); templates hide the controls of a viewer with it. Read only where a template asks."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"can_generate": False}
    from team.roles import can_generate

    return {"can_generate": SimpleLazyObject(lambda: can_generate(user))}
