"""Small wording helpers shared by the apps' template filters."""


def human_duration(seconds) -> str:
    """ "8 s", "2 min 5 s", "1 h 4 min"; empty for None."""
    if seconds is None:
        return ""
    seconds = max(0, int(round(float(seconds))))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"
