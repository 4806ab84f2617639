"""The language of the dashboard (issue #11): a member's choice, kept in ``Preferences`` and copied into the session
at sign-in, so a page reads no row for it; before sign-in the cookie, then the browser's ``Accept-Language``
(Django's LocaleMiddleware). Emails and messages made outside a request use ``language_of(user)``."""

from __future__ import annotations

from contextlib import contextmanager

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.utils import translation

SESSION_KEY = "member_language"
LANGUAGE_CODES = {code for code, _ in settings.LANGUAGES}


def supported(code: str | None) -> str | None:
    """One of settings.LANGUAGES for a code a person or a browser sent (``zh-CN`` → ``zh-hans``), else None."""
    if not code or len(code) > 20:
        return None
    try:
        return translation.get_supported_language_variant(code.strip().lower())
    except LookupError:
        return None


def chosen_language(user) -> str:
    """The language this person chose, "" when they never did."""
    from miaohua_site.accounts.models import Preferences

    if user is None or not getattr(user, "pk", None):
        return ""
    return Preferences.objects.filter(user=user).values_list("language", flat=True).first() or ""


def language_of(user) -> str:
    """The language to write to this person in (an email, a message made by a worker): their choice, else the
    language of the page being served, else the site's default."""
    return chosen_language(user) or translation.get_language() or settings.LANGUAGE_CODE


@contextmanager
def speaking_to(user):
    """``with speaking_to(user): send…`` renders in that person's language."""
    with translation.override(language_of(user)):
        yield


def choose_language(request, code: str) -> None:
    """Remember ``code`` for this person (their Preferences row when signed in, the session for this visit) and
    use it for the rest of this request; the response sets the cookie (MemberLanguageMiddleware)."""
    from miaohua_site.accounts.models import Preferences

    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        Preferences.objects.update_or_create(user=user, defaults={"language": code})
        request.session[SESSION_KEY] = code
    translation.activate(code)
    request.LANGUAGE_CODE = code
    request.language_chosen = code


@receiver(user_logged_in, dispatch_uid="accounts-language-on-sign-in")
def remember_language_at_sign_in(sender, request, user, **kwargs):
    if request is None or not hasattr(request, "session"):
        return
    code = chosen_language(user)
    if code:
        request.session[SESSION_KEY] = code
        translation.activate(code)
        request.LANGUAGE_CODE = code
        request.language_chosen = code
