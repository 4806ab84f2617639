"""The vendor's "at most 6 calls per second" on task_results, counted in the database (a sliding one-second
window over SimRateHit rows) so it holds however many processes serve the simulator."""

from datetime import timedelta

from miaohua_site.simulator import clock, db
from miaohua_site.simulator.models import SimRateHit, SimToken

KEEP = timedelta(seconds=60)


def ratelimit_allow(*, token_key: str, endpoint: str, limit: int, window: float = 1.0) -> bool:
    """Count this call if fewer than `limit` were accepted in the last `window` seconds; False otherwise."""
    now = clock.now()
    with db.atomic():
        # Serialises concurrent callers of one token (PostgreSQL); SQLite's IMMEDIATE transactions already do.
        list(SimToken.objects.select_for_update().filter(key=token_key).values_list("id", flat=True))
        recent = SimRateHit.objects.filter(
            token_key=token_key, endpoint=endpoint, at__gt=now - timedelta(seconds=window)
        ).count()
        if recent >= limit:
            return False
        SimRateHit.objects.create(token_key=token_key, endpoint=endpoint, at=now)
        SimRateHit.objects.filter(token_key=token_key, at__lt=now - KEEP).delete()
    return True
