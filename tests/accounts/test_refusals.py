"""Refusals before the views (NUL bytes) and what a failed htmx request shows (issue #9 §2)."""

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse


@pytest.fixture
def member(client, owner):
    client.raise_request_exception = False
    client.force_login(owner)
    return client


@pytest.mark.django_db
def test_a_nul_byte_in_a_parameter_is_refused_with_a_reason(member):
    # PostgreSQL cannot store NUL in text: this was a DataError (a 500); now a 400 on every database.
    response = member.get(reverse("gallery"), {"model": "a\x00b"})
    assert response.status_code == 400
    assert "“model” contains a NUL character" in response.content.decode()
    response = member.post(reverse("sharing"), "share=1%00", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    response = member.post(reverse("collection_list"), {"name": "a\x00b"})  # multipart: read by the middleware too
    assert response.status_code == 400



@pytest.mark.django_db
def test_every_page_handles_htmx_errors_from_our_own_static_files(member):
    page = member.get(reverse("history")).content.decode()
    assert '<script src="/static/htmx-errors.js"></script>' in page
    with open(finders.find("htmx-errors.js")) as handle:
        script = handle.read()
    assert "htmx:responseError" in script and "htmx:sendError" in script
