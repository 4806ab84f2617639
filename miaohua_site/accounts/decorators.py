from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from miaohua_site.accounts.services import account_for_user
from team.roles import can_generate


def upstream_account_required(view):
    """Pages that talk to Miaohua on the user's behalf: without connected credentials, send the user to
    the settings page with an explanation, and bring them back afterwards."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not can_generate(request.user):
            raise PermissionDenied(_("Viewers see the team's work; they cannot send work to Miaohua."))
        request.upstream_account = account_for_user(request.user)
        if request.upstream_account is None:
            messages.info(
                request,
                _(
                    "Connect your Miaohua account first, or ask an admin to let you use the team's: this page "
                    "sends work to Miaohua on your behalf."
                ),
            )
            return redirect(f"{reverse('upstream_settings')}?{urlencode({'next': request.get_full_path()})}")
        return view(request, *args, **kwargs)

    return wrapper


def staff_required(view):
    """Admin-only pages (datasets, training): members get a 403 page, visitors the login page."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_staff:
            raise PermissionDenied(_("Only admins can do this."))
        return view(request, *args, **kwargs)

    return wrapper


def member_required(view):
    """Views that change something (favourites, trash, sharing, collections): a viewer may look at the team's
    work but not change anything, so a viewer's POST is a 403 (a GET passes); visitors get the sign-in page."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD", "OPTIONS") and not can_generate(request.user):
            raise PermissionDenied(_("Viewers see the team's work; they cannot change anything."))
        return view(request, *args, **kwargs)

    return wrapper
