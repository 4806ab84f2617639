"""Response headers Django does not set by itself, and refusals before any view runs."""

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from miaohua_site.params import BadParameter
from miaohua_site.views import bad_request

NUL_MESSAGE = _("“{name}” contains a NUL character (\\0), which no field accepts. Remove it and try again.")


def _with_nul(data) -> str | None:
    for key, values in data.lists():
        if "\x00" in key or any("\x00" in value for value in values if isinstance(value, str)):
            return key.replace("\x00", "")
    return None


class RefuseNulMiddleware:
    """A NUL byte in a parameter is refused with a 400 that says so, the same on every database (PostgreSQL
    cannot store one in text and raised DataError; SQLite stored it). A view that installs its own upload
    handlers (``parses_own_body``) reads its body itself; its form fields refuse NUL as Django's do."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        name = _with_nul(request.GET)
        if name is None and request.method == "POST" and not getattr(view_func, "parses_own_body", False):
            name = _with_nul(request.POST)
        if name is not None:
            return bad_request(request, BadParameter(str(NUL_MESSAGE).format(name=name)))
        return None


class PermissionsPolicyMiddleware:
    """Every answer says which browser features the pages may use (settings.PERMISSIONS_POLICY): none of these."""

    def __init__(self, get_response):
        self.get_response = get_response
        policy = settings.PERMISSIONS_POLICY.items()
        self.header = ", ".join(f"{feature}=({' '.join(allow)})" for feature, allow in policy)

    def __call__(self, request):
        response = self.get_response(request)
        if self.header:
            response.headers.setdefault("Permissions-Policy", self.header)
        return response
