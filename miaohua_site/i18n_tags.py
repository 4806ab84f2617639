"""Template filters of every template (settings.TEMPLATES builtins): ``|stored_message``."""

from django import template

from miaohua_site.i18n import shown

register = template.Library()


@register.filter
def stored_message(text):
    """A message stored in English by a worker or a service (miaohua_site.i18n), in the reader's language."""
    return shown(text)
