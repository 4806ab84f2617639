"""Small wording helpers shared by the apps' template filters."""

from django.utils.translation import gettext as _


def human_duration(seconds) -> str:
    """ "8 s", "2 min 5 s", "1 h 4 min"; empty for None."""
    if seconds is None:
        return ""
    seconds = max(0, int(round(float(seconds))))
    if seconds < 60:
        return _("%(seconds)s s") % {"seconds": seconds}
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return _("%(minutes)s min %(seconds)s s") % {"minutes": minutes, "seconds": seconds}
    hours, minutes = divmod(minutes, 60)
    return _("%(hours)s h %(minutes)s min") % {"hours": hours, "minutes": minutes}
