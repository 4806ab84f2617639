"""The plumbing every endpoint shares: faults, seeding, the JSON body, the token, envelopes, the call log.

A view is `@endpoint("name", ...)` over a function `(call) -> Reply`. MIAOHUA_SIMULATOR_SHAPE says how the
answers look (digest, decision 1 and "What public clients ... add"):

| shape      | get_token, task_submit, task_result | dataset_all, train_progress | a refusal                      |
| ---------- | ----------------------------------- | --------------------------- | ------------------------------ |
| `live`     | envelope                            | bare, as the document shows | HTTP 200, envelope code != 0   |
| `seed`     | bare, as the seed document shows    | bare                        | HTTP 4xx (errors.py), envelope |
| `envelope` | envelope                            | envelope                    | HTTP 200, envelope code != 0   |

`live` is the default: what public clients of the live service read. Every other endpoint answers the
envelope `{"code", "info", "msg"}` in every shape. A refusal is `{"code", "info": "", "msg"}`, like the
document's one example of a failure (dataset/add_images). An unknown endpoint (404) and a wrong method
(405) keep their HTTP status in every shape: they are the web server's answers, not the API's."""

import json
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from miaohua_site.simulator import catalog, faults, stats
from miaohua_site.simulator.errors import PARAMETER_ERROR, ApiError
from miaohua_site.simulator.models import SimAccount, SimToken
from miaohua_site.simulator.services import accounts

_NO_BARE = object()
SHAPES = ("live", "seed", "envelope")
LIVE_BARE = frozenset({"dataset_all", "train_progress"})  # bare in the document and in public clients


def current_shape() -> str:
    shape = getattr(settings, "MIAOHUA_SIMULATOR_SHAPE", "live") or "live"
    if shape not in SHAPES:
        raise ImproperlyConfigured(f"MIAOHUA_SIMULATOR_SHAPE must be one of {', '.join(SHAPES)}, not {shape!r}")
    return shape


@dataclass
class Reply:
    info: Any
    bare: Any = _NO_BARE  # the seed document's shape, for endpoints it shows without an envelope
    msg: str = ""


@dataclass
class Call:
    request: HttpRequest
    body: dict = field(default_factory=dict)
    token: SimToken | None = None
    n_ids: int | None = None  # task_results: how many ids were asked for, for stats

    @property
    def account(self) -> SimAccount:
        return self.token.account


def json_answer(payload, status: int = 200) -> JsonResponse:
    return JsonResponse(payload, status=status, safe=False, json_dumps_params={"ensure_ascii": False})


def error_answer(error: ApiError) -> JsonResponse:
    """The refusal in the current shape: its HTTP status only in `seed` (and for 404/405 everywhere)."""
    status = error.http_status if error.keeps_status or current_shape() == "seed" else 200
    response = json_answer({"code": error.code, "info": "", "msg": error.msg}, status=status)
    if error.code == 429:
        response["Retry-After"] = "1"  # the window is one second
    return response


def _body(request: HttpRequest) -> dict:
    if not request.body:
        return {}
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(PARAMETER_ERROR, "the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(PARAMETER_ERROR, "the request body must be a JSON object")
    return body


def _bearer(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def endpoint(name: str, *, method: str = "POST", auth: str | None = "body"):
    """`auth`: "body" (token in the JSON body), "bearer" (multipart uploads: the header, or a `token` form
    field) or None (public forms)."""

    def decorate(handler):
        @csrf_exempt
        @wraps(handler)
        def view(request: HttpRequest, *args, **kwargs):
            call = Call(request)
            response = faults.fault_response(name)
            if response is None:
                response = _handle(name, handler, call, method, auth, args, kwargs)
            code = getattr(response, "vendor_code", None)
            email = call.token.account.email if call.token else ""
            stats.record(endpoint=name, status=response.status_code, code=code, n_ids=call.n_ids, email=email)
            return response

        view.endpoint_name = name
        return view

    return decorate


def _handle(name: str, handler, call: Call, method: str, auth, args, kwargs) -> JsonResponse:
    request = call.request
    try:
        if request.method != method:
            raise ApiError(
                PARAMETER_ERROR, f"{request.method} is not allowed here; use {method}", http_status=405
            )
        catalog.ensure_seeded()
        if auth == "bearer":
            # Older upload clients send the token as a form field, no header (digest, "Older upload clients").
            token = _bearer(request) or request.POST.get("token")
            if token is None:
                raise ApiError(401, "Authorization: Bearer <token> header (or a token form field) is required")
            call.token = accounts.token_authenticate(token)
        elif method == "POST":
            call.body = _body(request)
            if auth == "body":
                call.token = accounts.token_authenticate(call.body.get("token"))
        reply = handler(call, *args, **kwargs)
    except ApiError as error:
        response = error_answer(error)
        response.vendor_code = error.code
        return response
    shape = current_shape()
    if reply.bare is not _NO_BARE and (shape == "seed" or (shape == "live" and name in LIVE_BARE)):
        response = json_answer(reply.bare)
    else:
        response = json_answer({"code": 0, "info": reply.info, "msg": reply.msg})
    response.vendor_code = 0
    return response
