from django.utils.functional import SimpleLazyObject


def quota_alerts(request):
    """The count of unseen quota alerts beside "Quotas" in an admin's menu: one COUNT, only for staff, only
    where a template shows it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_staff:
        return {}
    from team.selectors_quotas import unseen_alert_count

    return {"quota_alert_count": SimpleLazyObject(unseen_alert_count)}
