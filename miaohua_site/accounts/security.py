"""Sign-in throttling (django-axes): who is counted, and what a locked-out person is told."""

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.shortcuts import render
from django.utils import timezone


def client_ip(request) -> str:
    """The visitor's address: the proxy's X-Forwarded-For entry when TRUSTED_PROXIES proxies stand in front (each
    appends the address it saw, so the one ours added is the N-th from the end), else REMOTE_ADDR."""
    proxies = settings.TRUSTED_PROXIES
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if proxies and len(forwarded) >= proxies:
        return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")


def lockout_response(request, original_response=None, credentials=None):
    """The product's sign-in page (also for /admin/login/), saying when to try again; status 429."""
    cooloff = settings.AXES_COOLOFF_TIME
    locked_until = getattr(request, "axes_attempt_time", None) or timezone.now()
    form = AuthenticationForm(request, initial={"username": (credentials or {}).get("username", "")})
    context = {
        "form": form,
        "next": request.POST.get("next", "") if request.method == "POST" else "",
        "locked_until": locked_until + cooloff,
        "locked_minutes": int(cooloff.total_seconds() // 60),
    }
    return render(request, "registration/login.html", context, status=429)
