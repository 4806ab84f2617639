from functools import lru_cache

from django.conf import settings


@lru_cache(maxsize=1)
def _catalog_version() -> str:
    """Changes when the compiled catalogs do, so browsers keep /jsi18n/ for a day yet see new translations."""
    files = sorted(p for path in settings.LOCALE_PATHS for p in path.rglob("*.mo"))
    return str(int(max((p.stat().st_mtime for p in files), default=0)))


def studio(request):
    """What every page's layout needs: whether we run against the simulator; the JavaScript catalog's version."""
    return {
        "on_simulator": settings.MIAOHUA_SIMULATOR and "/simulator/" in (settings.MIAOHUA_API_BASE or ""),
        "js_catalog_version": _catalog_version(),
    }
