"""Template filters of every template (settings.TEMPLATES builtins): ``|stored_message``."""

from django import template

from miaohua_site.i18n import shown

register = template.Library()


@register.filter
def stored_message(text):
    """A message stored in English by a worker or a service (miaohua_site.i18n), in the reader's language."""
    return shown(text)


@register.simple_tag
def sentence_gap():
    """What goes between two sentences translated apart: a space in English, nothing in Chinese (。 ends it)."""
    from django.utils.translation import get_language

    return "" if (get_language() or "").startswith("zh") else " "
