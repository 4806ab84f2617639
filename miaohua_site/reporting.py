"""Error reports (the debug page, ADMINS mail, any reporter) never carry a Miaohua password or token.

Secrets travel through frames that are not ours (``requests``' ``json=`` body and headers, urllib3's ``body``), so
every frame is cleaned, whatever its module: the secrets are first gathered from the stack (variables, dict keys
and our objects' attributes named like a password or a token, a Bearer header's value), then each variable is
shown with those values and every value under a secret-looking key blanked out."""

import json
import re
from itertools import islice
from urllib.parse import quote, quote_plus

from django.views.debug import SafeExceptionReporterFilter

# Modules whose frames hold credentials in their local variables (request bodies, login payloads): shown blank.
_SECRET_MODULES = ("miaohua_site.upstream", "miaohua_site.accounts")
# Names whose values are secrets: a variable, a dict key (a JSON body, headers) or an attribute of our objects.
_SECRET_NAME = re.compile(r"pass|token|secret|authoriz|credential|api_?key|cookie|session_?id", re.I)
_MIN_SECRET = 4  # shorter values would blank out half the report, and are no secret worth the name
_DEPTH = 4  # how deep nested dicts and lists are looked into
_WIDTH = 200  # and how many of their items


class _Shown:
    """A variable as the report prints it (the report calls ``repr``): the cleaned text of its value."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _gather(value, found: set[str], depth: int = 0, named: bool = False) -> None:
    """Add to ``found`` the secrets ``value`` holds: all of it when its name says so, else its secret keys."""
    if depth > _DEPTH:
        return
    if isinstance(value, bytes | bytearray):
        try:
            value = bytes(value).decode()
        except UnicodeDecodeError:
            return
    if isinstance(value, str):
        if named and len(value) >= _MIN_SECRET:
            found.add(value)
            scheme, _, credential = value.partition(" ")
            if scheme.lower() in ("bearer", "token", "basic") and len(credential) >= _MIN_SECRET:
                found.add(credential)
        return
    if isinstance(value, dict) or hasattr(value, "items") and hasattr(value, "keys"):  # dicts, request headers
        try:
            items = list(islice(value.items(), _WIDTH))
        except Exception:  # noqa: BLE001 - a report must never fail on a strange mapping
            return
        for key, item in items:
            _gather(item, found, depth + 1, named or bool(_SECRET_NAME.search(str(key))))
        return
    if isinstance(value, list | tuple | set | frozenset):
        for item in islice(value, _WIDTH):
            _gather(item, found, depth + 1, named)
        return
    if type(value).__module__.startswith("miaohua_site"):  # our objects (the client keeps _password, _token)
        for attribute, item in getattr(value, "__dict__", {}).items():
            if _SECRET_NAME.search(attribute):
                _gather(item, found, depth + 1, True)


def _spellings(secret: str) -> set[str]:
    """The ways a secret is written in a printed value: as is, JSON-escaped, repr-escaped, URL-encoded."""
    spelled = {secret, json.dumps(secret)[1:-1], repr(secret)[1:-1], quote(secret, safe=""), quote_plus(secret)}
    spelled.add(repr(secret.encode())[2:-1])
    return {text for text in spelled if len(text) >= _MIN_SECRET}


def secrets_on_stack(tb_frame) -> set[str]:
    """Every secret held by this frame and the frames that called it."""
    found: set[str] = set()
    frame = tb_frame
    while frame is not None:
        for name, value in frame.f_locals.items():
            _gather(value, found, named=bool(_SECRET_NAME.search(name)))
        frame = frame.f_back
    return found


class SecretsFilter(SafeExceptionReporterFilter):
    def get_post_parameters(self, request):
        params = super().get_post_parameters(request)
        if request is not None and "password" in params:
            params = params.copy()
            params["password"] = self.cleansed_substitute
        return params

    def get_traceback_frame_variables(self, request, tb_frame):
        module = tb_frame.f_globals.get("__name__", "")
        if module.startswith(_SECRET_MODULES):
            return [(name, self.cleansed_substitute) for name in tb_frame.f_locals]
        spellings = sorted({text for secret in secrets_on_stack(tb_frame) for text in _spellings(secret)}, key=len)
        cleaned = []
        for name, value in super().get_traceback_frame_variables(request, tb_frame):
            if _SECRET_NAME.search(name):
                cleaned.append((name, self.cleansed_substitute))
                continue
            cleaned.append((name, _Shown(self._scrub(self._blank_secret_keys(value), spellings[::-1]))))
        return cleaned

    def _blank_secret_keys(self, value, depth: int = 0):
        """A copy of dicts and lists with every value under a secret-looking key blanked out."""
        if depth > _DEPTH:
            return value
        if isinstance(value, dict):
            return {
                key: self.cleansed_substitute
                if _SECRET_NAME.search(str(key))
                else self._blank_secret_keys(item, depth + 1)
                for key, item in value.items()
            }
        if type(value) in (list, tuple):
            return type(value)(self._blank_secret_keys(item, depth + 1) for item in value)
        return value

    def _scrub(self, value, spellings: list[str]) -> str:
        from django.template.defaultfilters import pprint

        text = pprint(value)
        for secret in spellings:  # longest first, so a longer spelling is not half-replaced by a shorter one
            text = text.replace(secret, self.cleansed_substitute)
        return text
