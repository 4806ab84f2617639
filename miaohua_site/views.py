"""The product's own answer to a bad request: the reason in plain words, as a page or (htmx) a short fragment
that static/htmx-errors.js shows where the request came from."""

from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from miaohua_site.params import BadParameter

GENERIC = _("This request could not be understood. Reload the page and try again.")


def bad_request(request, exception=None):
    message = str(exception) if isinstance(exception, BadParameter) else str(GENERIC)
    template = "400.html#message" if getattr(request, "htmx", False) else "400.html"
    response = TemplateResponse(request, template, {"message": message}, status=400)
    return response.render()
