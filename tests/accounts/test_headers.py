"""Every page carries a Content-Security-Policy that allows scripts only from our own files (no inline script,
no eval) and a Permissions-Policy; no template holds an inline script or an inline event handler."""

import re
from pathlib import Path

import pytest
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted(
    path
    for folder in ("templates", "generation", "training", "miaohua_site")
    for path in (ROOT / folder).rglob("*.html")
)

pytestmark = pytest.mark.django_db


def directives(header: str) -> dict[str, list[str]]:
    parts = (part.split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in parts}


@pytest.mark.parametrize("signed_in", [False, True], ids=["sign-in page", "history page"])
def test_every_page_has_a_strict_script_policy(client, owner, signed_in):
    if signed_in:
        client.force_login(owner)
    response = client.get(reverse("history") if signed_in else reverse("login"))
    assert response.status_code == 200
    policy = directives(response["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval', no other host
    assert policy["default-src"] == ["'self'"] and policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["base-uri"] == ["'self'"]
    assert "camera=()" in response["Permissions-Policy"] and "geolocation=()" in response["Permissions-Policy"]
    page = response.content.decode()
    assert '"allowEval": false' in page  # htmx evaluates no trigger filter, which the policy would refuse
    for tag in re.findall(r"<script\b[^>]*>", page):
        assert " src=" in tag, tag


def test_the_policy_also_covers_errors_and_fragments(client, owner):
    assert "Content-Security-Policy" in client.get("/no-such-page/")
    client.force_login(owner)
    assert "Content-Security-Policy" in client.get(reverse("queue_badge"))


def test_no_template_has_an_inline_script_or_handler():
    assert len(TEMPLATES) > 20
    for path in TEMPLATES:
        text = path.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text, flags=re.I):
            assert re.search(r"\ssrc=", tag), f"{path}: inline script {tag}"
        assert not re.search(r"<[^>]*\son[a-z]+\s*=", text, flags=re.I), f"{path}: inline event handler"
        assert "javascript:" not in text.lower(), f"{path}: a javascript: link"
        assert not re.search(r"\shx-on[:-]", text), f"{path}: hx-on runs inline code"
        assert not re.search(r"hx-(trigger|vals)=\"[^\"]*(\[|js:)", text), f"{path}: htmx would evaluate code"
