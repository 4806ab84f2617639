from django.conf import settings
from django.utils import translation

from miaohua_site.accounts.language import LANGUAGE_CODES, SESSION_KEY


class MemberLanguageMiddleware:
    """After LocaleMiddleware and AuthenticationMiddleware: a signed-in member's chosen language (copied into the
    session at sign-in, so no query) wins over the cookie and the browser; the answer carries it as the cookie, so
    the sign-in page after signing out keeps speaking it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        code = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
        if code in LANGUAGE_CODES and code != getattr(request, "LANGUAGE_CODE", None):
            translation.activate(code)
            request.LANGUAGE_CODE = code
        response = self.get_response(request)
        chosen = getattr(request, "language_chosen", None) or (code if code in LANGUAGE_CODES else None)
        if chosen and request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) != chosen:
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                chosen,
                max_age=settings.LANGUAGE_COOKIE_AGE,
                path=settings.LANGUAGE_COOKIE_PATH,
                domain=settings.LANGUAGE_COOKIE_DOMAIN,
                secure=settings.LANGUAGE_COOKIE_SECURE,
                httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE,
            )
        return response
