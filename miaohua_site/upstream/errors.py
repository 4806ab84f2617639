"""One error hierarchy for everything the Miaohua API can answer, and the vendor code → class table.

Callers catch a few well-named classes; each carries the vendor's ``code`` and ``msg`` (when there was
one), the HTTP status, the endpoint, and a ``user_message`` in plain words for the dashboard.
"""

from __future__ import annotations

from django.utils.functional import lazy
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

__all__ = [
    "AccountLimit",
    "AuthenticationError",
    "ContentRefused",
    "InvalidParameter",
    "LoginFailed",
    "NotFound",
    "ProtocolError",
    "RateLimited",
    "SubmissionFailed",
    "UpstreamError",
    "UpstreamTimeout",
    "UpstreamUnavailable",
    "error_for",
]


def _fill(template: str, values: dict) -> str:
    return gettext(template).format(**values)


_filled = lazy(_fill, str)


def filled(template: str, **values):
    """A registered ``stored()`` template with ``values``, translated when shown (a lazy string): a page shows it
    in the reader's language; ``i18n.english(message)`` gives the English a worker stores."""
    return _filled(template, values)


# user_message templates with values: stored in English by workers, shown translated (the dashboard registers them
# with miaohua_site.i18n.stored: see accounts/apps.py; the client itself imports nothing of ours).
REFUSED_PARAMETER = gettext_noop("Miaohua refused a parameter: {message}")
TOOK_TOO_LONG = gettext_noop("Miaohua took longer than {seconds} s to answer; try again.")
TEMPLATES = (REFUSED_PARAMETER, TOOK_TOO_LONG)


class UpstreamError(Exception):
    """What went wrong talking to the vendor. ``str(error)`` is for logs, ``user_message`` for people."""

    default_user_message = _("The image service answered with an error.")

    def __init__(
        self,
        message: str = "",
        *,
        code: int | None = None,
        status: int | None = None,
        endpoint: str | None = None,
        user_message: str | None = None,
    ) -> None:
        self.message = message
        self.code = code
        self.status = status
        self.endpoint = endpoint
        self._user_message = user_message
        super().__init__(message)

    @property
    def user_message(self) -> str:
        return self._user_message or self.default_user_message

    def __str__(self) -> str:
        where = self.endpoint or "miaohua"
        details = []
        if self.code is not None:
            details.append(f"code {self.code}")
        if self.status is not None:
            details.append(f"HTTP {self.status}")
        suffix = f" ({', '.join(details)})" if details else ""
        return f"{where}: {self.message or type(self).__name__}{suffix}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(message={self.message!r}, code={self.code!r}, "
            f"status={self.status!r}, endpoint={self.endpoint!r})"
        )


class AuthenticationError(UpstreamError):
    """The token was refused (expired, undecodable, invalid). The client logs in again once by itself."""

    default_user_message = _("The Miaohua session expired and could not be renewed. Reconnect the account.")


class LoginFailed(UpstreamError):
    """get_token refused the email/password (unknown, unverified, wrong password, banned). Never retried."""

    default_user_message = _("Miaohua refused the email or password. Check the account's credentials.")


class RateLimited(UpstreamError):
    """Too many requests; ``retry_after`` is the vendor's hint in seconds, when it gave one."""

    default_user_message = _("The image service is busy. Trying again shortly.")

    def __init__(self, message: str = "", *, retry_after: float | None = None, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ContentRefused(UpstreamError):
    """The prompt or an image was judged sensitive, or an image is still being checked."""

    default_user_message = _("Miaohua refused the content: change the prompt or use another image.")


class AccountLimit(UpstreamError):
    """Too many running tasks, balance too low, or the daily download limit reached: Miaohua's own limits on
    the account (digest: "Error codes"), not the team's quotas, which are checked before anything is sent."""

    default_user_message = _(
        "The Miaohua account has reached a limit (running tasks, balance or daily downloads)."
    )
    # Which limit, that it is Miaohua's (not the team's quota), and what to do. No " — " in them: a retried
    # task's card shows the part of its reason before the first dash.
    CODE_MESSAGES = {
        118: _(
            "Miaohua's daily download limit for this Miaohua account is reached (Miaohua's own limit on the "
            "account, not your team quota): wait until tomorrow, or use another Miaohua account."
        ),
        123: _(
            "Miaohua's limit of running tasks for this Miaohua account is reached (Miaohua's own limit on the "
            "account, not your team quota): wait for running tasks to finish."
        ),
        124: _(
            "The Miaohua account's balance is too low for this task (Miaohua's own limit on the account, not "
            "your team quota): top up the account at Miaohua, or ask for fewer images."
        ),
    }

    @property
    def user_message(self) -> str:
        return self._user_message or self.CODE_MESSAGES.get(self.code, self.default_user_message)


class InvalidParameter(UpstreamError):
    """The vendor refused a parameter; ``message`` is the vendor's explanation."""

    default_user_message = _("Miaohua refused a parameter of the request.")

    @property
    def user_message(self) -> str:
        if self._user_message:
            return self._user_message
        if self.message:
            return filled(REFUSED_PARAMETER, message=self.message)
        return self.default_user_message


class NotFound(UpstreamError):
    """The task (or other object) does not exist at the vendor."""

    default_user_message = _("Miaohua does not know this task any more.")


class SubmissionFailed(UpstreamError):
    """The vendor could not accept the task."""

    default_user_message = _("Miaohua could not accept the task. Try again later.")


class UpstreamUnavailable(UpstreamError):
    """Connection refused, timeout, or HTTP 5xx.

    ``may_have_reached_vendor`` is False only when the request certainly never left (connection refused,
    connect timeout): after a read timeout or a 5xx a submission may or may not exist at the vendor.
    """

    default_user_message = _("The image service cannot be reached right now. Trying again later.")

    def __init__(self, message: str = "", *, may_have_reached_vendor: bool = True, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.may_have_reached_vendor = may_have_reached_vendor


class UpstreamTimeout(UpstreamUnavailable):
    """The vendor took longer to answer than the read timeout (``seconds``); it may have acted on the call."""

    def __init__(self, message: str = "", *, seconds: float, **kwargs) -> None:
        kwargs.setdefault("user_message", filled(TOOK_TOO_LONG, seconds=f"{seconds:g}"))
        super().__init__(message, **kwargs)
        self.seconds = seconds


class ProtocolError(UpstreamError):
    """An answer that is not the documented shape: not JSON, missing fields, wrong types, a redirect."""

    default_user_message = _("The image service answered something unexpected. Check the API address.")


# The vendor's error table (digest: "Error codes"), code → class.
_CODE_CLASSES: dict[int, type[UpstreamError]] = {
    **dict.fromkeys((401, 411, 412, 413), AuthenticationError),
    **dict.fromkeys((101, 119, 102, 121, 120, 416), LoginFailed),
    429: RateLimited,
    **dict.fromkeys((430, 703, 704), ContentRefused),
    **dict.fromkeys((118, 123, 124), AccountLimit),
    **dict.fromkeys((129, 403, 125, 400), InvalidParameter),
    **dict.fromkeys((106, 107, 108), NotFound),
    **dict.fromkeys((103, 104, 105), SubmissionFailed),
}


def _class_for_status(status: int | None) -> type[UpstreamError]:
    if status is None:
        return UpstreamError
    if status in (401, 403):
        return AuthenticationError
    if status in (400, 422):
        return InvalidParameter
    if status in (404, 405, 410):
        # Not a vendor "task does not exist" (106–108, always with a code): the address is wrong.
        return ProtocolError
    if status == 429:
        return RateLimited
    if status >= 500:
        return UpstreamUnavailable
    if 300 <= status < 400:
        return ProtocolError
    return UpstreamError


def error_for(
    code: int | None,
    msg: str = "",
    status: int | None = None,
    endpoint: str | None = None,
    *,
    retry_after: float | None = None,
) -> UpstreamError:
    """The error for a vendor ``code`` (envelope) or, when the code is absent or unknown, for the HTTP status.

    An authentication refusal of ``get_token`` itself is a ``LoginFailed``: the email/password were refused.
    """
    cls = _CODE_CLASSES.get(code) if code is not None else None
    if cls is None:
        cls = _class_for_status(status)
    if cls is AuthenticationError and endpoint == "get_token":
        cls = LoginFailed
    message = msg or (f"vendor error code {code}" if code is not None else f"HTTP {status}")
    kwargs: dict = {"code": code, "status": status, "endpoint": endpoint}
    if cls is RateLimited:
        kwargs["retry_after"] = retry_after
    return cls(message, **kwargs)
