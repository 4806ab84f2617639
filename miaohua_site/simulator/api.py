"""The plumbing every endpoint shares: faults, seeding, the JSON body, the token, envelopes, the call log.

A view is `@endpoint("name", ...)` over a function `(call) -> Reply`. With MIAOHUA_SIMULATOR_ENVELOPES
off, the endpoints the vendor's document shows bare (get_token, task_submit, task_result, dataset_all,
train_progress) answer `Reply.bare`; everything else, and every error, is `{"code", "info", "msg"}`."""

import json
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from miaohua_site.simulator import catalog, faults, stats
from miaohua_site.simulator.errors import PARAMETER_ERROR, ApiError
from miaohua_site.simulator.models import SimAccount, SimToken
from miaohua_site.simulator.services import accounts

_NO_BARE = object()


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
    response = json_answer({"code": error.code, "msg": error.msg, "info": None}, status=error.http_status)
    if error.http_status == 429:
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
    """`auth`: "body" (token in the JSON body), "bearer" (multipart uploads) or None (public forms)."""

    def decorate(handler):
        @csrf_exempt
        @wraps(handler)
        def view(request: HttpRequest, *args, **kwargs):
            call = Call(request)
            response = faults.fault_response(name)
            if response is None:
                response = _handle(handler, call, method, auth, args, kwargs)
            code = getattr(response, "vendor_code", None)
            email = call.token.account.email if call.token else ""
            stats.record(endpoint=name, status=response.status_code, code=code, n_ids=call.n_ids, email=email)
            return response

        view.endpoint_name = name
        return view

    return decorate


def _handle(handler, call: Call, method: str, auth, args, kwargs) -> JsonResponse:
    request = call.request
    try:
        if request.method != method:
            raise ApiError(
                PARAMETER_ERROR, f"{request.method} is not allowed here; use {method}", http_status=405
            )
        catalog.ensure_seeded()
        if auth == "bearer":
            token = _bearer(request)
            if token is None:
                raise ApiError(401, "Authorization: Bearer <token> header is required")
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
    if reply.bare is not _NO_BARE and not settings.MIAOHUA_SIMULATOR_ENVELOPES:
        response = json_answer(reply.bare)
    else:
        response = json_answer({"code": 0, "info": reply.info, "msg": reply.msg})
    response.vendor_code = 0
    return response
