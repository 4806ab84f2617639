"""An error while connecting never puts the Miaohua password into an error report."""

import sys

import pytest
from django.test import RequestFactory
from django.views.debug import ExceptionReporter

from miaohua_site.accounts import services
from miaohua_site.upstream.errors import UpstreamUnavailable

SECRET = "very-secret-miaohua-pass"


@pytest.mark.django_db
def test_it_keeps_the_password_out_of_error_reports(owner, settings):
    settings.MIAOHUA_API_BASE = "http://127.0.0.1:9/api/v1b/"  # nothing listens: the call fails inside the client
    request = RequestFactory().post("/settings/", {"email": "demo@example.com", "password": SECRET})
    request.user = owner
    try:
        services.upstream_account_connect(user=owner, email="demo@example.com", password=SECRET)
    except UpstreamUnavailable:
        exc_info = sys.exc_info()
    else:
        pytest.fail("the connect should have failed")

    reporter = ExceptionReporter(request, *exc_info)
    assert SECRET not in reporter.get_traceback_text()
    assert SECRET not in reporter.get_traceback_html()
    assert "connect" in reporter.get_traceback_text()  # the report itself is still there
