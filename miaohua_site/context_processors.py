from django.conf import settings


def studio(request):
    """What every page's layout needs: whether we run against the simulator."""
    return {"on_simulator": settings.MIAOHUA_SIMULATOR and "/simulator/" in (settings.MIAOHUA_API_BASE or "")}
