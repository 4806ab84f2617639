"""Injected faults, from settings.MIAOHUA_SIMULATOR_FAULTS (read at every call), so the client's
timeouts, retries and backoff can be exercised against the simulator rather than a mock.

Format: comma-separated `key=value` pairs, e.g.

    error_rate=0.2,hang_rate=0.1,hang_seconds=40,slow_seconds=1.5,endpoints=task_results+task_result

| key          | meaning                                                              | default     |
| ------------ | -------------------------------------------------------------------- | ----------- |
| error_rate   | share (0-1) of calls answered with a server error, before any work   | 0           |
| error_status | the error statuses, one picked at random: `500`, `503`, `429` (the   | 500|503     |
|              | vendor's "too many requests", nothing done) or several: `500|503`    |             |
| error_code   | instead of a server error, the vendor's refusal with this code, in   | none        |
|              | the current shape: `118` (daily download limit), `123` (too many     |             |
|              | running tasks), `124` (balance too low), any code of errors.py       |             |
| hang_rate    | share (0-1) of calls that first stall for `hang_seconds`             | 0           |
| hang_seconds | how long a stall lasts; make it longer than the client's timeout     | 40          |
| hang_then    | after a stall: `drop` answers 504 and does nothing; `answer` handles | drop        |
|              | the call normally (the client gave up, yet e.g. the task exists)     |             |
| slow_rate    | share (0-1) of calls delayed by `slow_seconds`, then handled         | 1 (if slow) |
| slow_seconds | that delay                                                           | 0           |
| endpoints    | `+`-separated endpoint names the faults apply to: the digest's       | all API     |
|              | (`task_submit`, `models/base`, ...), `files` for picture downloads   | but files   |

A rate of 1 means every call, 0 none. One roll decides between error (the first `error_rate` of [0, 1))
and stall (the next `hang_rate`); a second roll decides slowness. Tests can monkeypatch `roll`.
A 500 answers a JSON envelope with code 500; 503 and 504 answer an HTML page, like a gateway does.
An empty string means no faults. A malformed string raises ImproperlyConfigured (the call answers 500)."""

import random
import time
from dataclasses import dataclass, field
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse, JsonResponse

_random = random.Random()

GATEWAY_PAGE = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
REASONS = {500: "Internal Server Error", 503: "Service Temporarily Unavailable", 504: "Gateway Time-out"}


def roll() -> float:
    return _random.random()


@dataclass(frozen=True)
class FaultPlan:
    error_rate: float = 0.0
    error_status: tuple[int, ...] = (500, 503)
    error_code: int | None = None
    hang_rate: float = 0.0
    hang_seconds: float = 40.0
    hang_then: str = "drop"
    slow_rate: float = 0.0
    slow_seconds: float = 0.0
    endpoints: frozenset[str] | None = field(default=None)

    def applies_to(self, endpoint: str) -> bool:
        if self.endpoints is None:
            return endpoint != "files"
        return endpoint in self.endpoints


def _rate(key: str, value: str) -> float:
    rate = float(value)
    if not 0 <= rate <= 1:
        raise ValueError(f"{key} must be from 0 to 1")
    return rate


@lru_cache(maxsize=16)
def parse(spec: str) -> FaultPlan:
    values: dict = {}
    try:
        for item in filter(None, (part.strip() for part in spec.split(","))):
            key, sep, value = item.partition("=")
            key, value = key.strip(), value.strip()
            if not sep:
                raise ValueError(f"{item!r} is not key=value")
            if key in ("error_rate", "hang_rate", "slow_rate"):
                values[key] = _rate(key, value)
            elif key in ("hang_seconds", "slow_seconds"):
                values[key] = max(0.0, float(value))
            elif key == "error_status":
                values[key] = tuple(int(s) for s in value.split("|"))
                if not set(values[key]) <= {429, 500, 503}:
                    raise ValueError("error_status takes 429, 500 and/or 503")
            elif key == "error_code":
                from miaohua_site.simulator.errors import HTTP_STATUS

                values[key] = int(value)
                if values[key] not in HTTP_STATUS:
                    raise ValueError(f"error_code takes a vendor code of simulator/errors.py, not {value}")
            elif key == "hang_then":
                if value not in ("drop", "answer"):
                    raise ValueError("hang_then is drop or answer")
                values[key] = value
            elif key == "endpoints":
                values[key] = frozenset(e.strip() for e in value.replace("|", "+").split("+") if e.strip())
            else:
                raise ValueError(f"unknown key {key!r}")
    except ValueError as exc:
        raise ImproperlyConfigured(f"MIAOHUA_SIMULATOR_FAULTS={spec!r}: {exc}") from exc
    if values.get("slow_seconds") and "slow_rate" not in values:
        values["slow_rate"] = 1.0
    return FaultPlan(**values)


def current_plan() -> FaultPlan:
    return parse(getattr(settings, "MIAOHUA_SIMULATOR_FAULTS", "") or "")


def _error(status: int) -> HttpResponse:
    if status == 429:  # as the rate limit answers it (api.error_answer)
        response = JsonResponse({"code": 429, "msg": "too many requests", "info": None}, status=429)
        response["Retry-After"] = "1"
        return response
    if status == 500:
        return JsonResponse(
            {"code": 500, "msg": "simulated fault: internal server error", "info": None}, status=500
        )
    return HttpResponse(
        GATEWAY_PAGE.format(status=status, reason=REASONS[status]), status=status, content_type="text/html"
    )


VENDOR_MESSAGES = {118: "daily download limit reached", 123: "too many running tasks", 124: "balance too low"}


def _refusal(code: int) -> HttpResponse:
    from miaohua_site.simulator.api import error_answer  # api imports this module
    from miaohua_site.simulator.errors import ApiError

    response = error_answer(ApiError(code, VENDOR_MESSAGES.get(code, f"simulated refusal {code}")))
    response.vendor_code = code
    return response


def fault_response(endpoint: str) -> HttpResponse | None:
    """Apply the configured faults to a call: sleep as planned, and return the answer that replaces the
    real one (an error), or None to handle the call normally."""
    plan = current_plan()
    if not plan.applies_to(endpoint):
        return None
    chance = roll()
    if chance < plan.error_rate and plan.error_code is not None:
        return _refusal(plan.error_code)
    if chance < plan.error_rate:
        return _error(plan.error_status[int(roll() * len(plan.error_status)) % len(plan.error_status)])
    if chance < plan.error_rate + plan.hang_rate:
        time.sleep(plan.hang_seconds)
        if plan.hang_then == "drop":
            return _error(504)
        return None
    if plan.slow_seconds and roll() < plan.slow_rate:
        time.sleep(plan.slow_seconds)
    return None
