"""The settings page: a user connects their own Miaohua account, verified at once against the simulator."""

import logging

import pytest
from django.urls import reverse

from miaohua_site.accounts.models import UpstreamAccount
from miaohua_site.accounts.services import upstream_account_store

live = pytest.mark.django_db(transaction=True)


@pytest.fixture
def signed_in(client, owner):
    client.force_login(owner)
    return client


@live
def test_it_connects_with_credentials_the_vendor_accepts(signed_in, owner, simulator_url):
    response = signed_in.post(
        reverse("upstream_settings"), {"email": "demo@example.com", "password": "demo"}, follow=True
    )

    assert response.status_code == 200
    assert b"connected as" in response.content and b"demo@example.com" in response.content
    account = UpstreamAccount.objects.get(user=owner)
    assert account.password == "demo"
    assert account.token  # verified with get_token, token kept
    assert b">demo<" not in response.content and b'value="demo"' not in response.content


@live
def test_it_shows_a_refusal_beside_the_password_and_keeps_the_email(signed_in, owner, simulator_url, caplog):
    caplog.set_level(logging.DEBUG)
    response = signed_in.post(
        reverse("upstream_settings"), {"email": "demo@example.com", "password": "wrong-password-xyz"}
    )

    assert response.status_code == 200
    form = response.context["form"]
    assert "Miaohua did not accept this email and password" in " ".join(form.errors["password"])
    assert 'value="demo@example.com"' in response.content.decode()
    assert b"wrong-password-xyz" not in response.content
    assert "wrong-password-xyz" not in caplog.text
    assert not UpstreamAccount.objects.filter(user=owner).exists()


@live
def test_it_reports_an_unknown_email(signed_in, simulator_url):
    response = signed_in.post(reverse("upstream_settings"), {"email": "nobody@example.com", "password": "x"})
    assert "Miaohua did not accept" in " ".join(response.context["form"].errors["password"])


@pytest.mark.django_db
def test_it_explains_when_miaohua_cannot_be_reached(signed_in, owner, settings):
    settings.MIAOHUA_API_BASE = "http://127.0.0.1:9/api/v1b/"  # nothing listens on the discard port
    response = signed_in.post(reverse("upstream_settings"), {"email": "demo@example.com", "password": "demo"})

    assert response.status_code == 200
    assert "could not be reached" in " ".join(response.context["form"].non_field_errors())
    assert not UpstreamAccount.objects.filter(user=owner).exists()


@pytest.mark.django_db
def test_it_checks_the_fields_before_asking_the_vendor(signed_in):
    response = signed_in.post(reverse("upstream_settings"), {"email": "not-an-email", "password": ""})
    form = response.context["form"]
    assert "Enter a valid email address." in form.errors["email"]
    assert "This field is required." in form.errors["password"]
    assert 'value="not-an-email"' in response.content.decode()
    assert b"is-invalid" in response.content


@pytest.mark.django_db
def test_it_shows_only_who_is_connected_and_since_when(signed_in, owner):
    upstream_account_store(user=owner, email="owner@miaohua.test", password="pw-never-shown", token="tok-never-shown")
    content = signed_in.get(reverse("upstream_settings")).content.decode()

    assert "connected as <strong>owner@miaohua.test</strong>, since" in content
    assert "pw-never-shown" not in content and "tok-never-shown" not in content
    assert "Replace" in content and "Disconnect" in content
    assert 'name="password"' not in content  # the form appears only after "Replace"
    assert 'name="password"' in signed_in.get(reverse("upstream_settings") + "?replace=1").content.decode()


@pytest.mark.django_db
def test_it_disconnects(signed_in, owner):
    upstream_account_store(user=owner, email="owner@miaohua.test", password="pw")
    response = signed_in.post(reverse("upstream_disconnect"), follow=True)
    assert not UpstreamAccount.objects.filter(user=owner).exists()
    assert b"Disconnected" in response.content


@pytest.mark.django_db
def test_disconnect_is_post_only(signed_in, owner):
    upstream_account_store(user=owner, email="owner@miaohua.test", password="pw")
    assert signed_in.get(reverse("upstream_disconnect")).status_code == 405
    assert UpstreamAccount.objects.filter(user=owner).exists()


@pytest.mark.django_db
def test_a_page_that_needs_credentials_sends_the_user_to_connect_first(signed_in):
    response = signed_in.get(reverse("generate"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("upstream_settings") + "?next=%2Fgenerate%2F"
    assert b"Connect your Miaohua account first" in response.content
    assert b'name="next" value="/generate/"' in response.content


@live
def test_it_returns_the_user_where_they_were_going_after_connecting(signed_in, simulator_url):
    response = signed_in.post(
        reverse("upstream_settings"), {"email": "demo@example.com", "password": "demo", "next": "/generate/"}
    )
    assert response.status_code == 302 and response["Location"] == "/generate/"


@live
def test_it_ignores_a_next_url_on_another_host(signed_in, simulator_url):
    response = signed_in.post(
        reverse("upstream_settings"), {"email": "demo@example.com", "password": "demo", "next": "https://evil.test/"}
    )
    assert response["Location"] == reverse("upstream_settings")


@live
def test_a_slow_credential_check_says_so_after_one_short_try(signed_in, owner, simulator_url, settings):
    settings.MIAOHUA_INTERACTIVE_TIMEOUT = 1  # the interactive profile: at most this read timeout, no retries
    settings.MIAOHUA_SIMULATOR_FAULTS = "slow_seconds=3,endpoints=get_token"

    response = signed_in.post(reverse("upstream_settings"), {"email": "demo@example.com", "password": "demo"})

    assert response.status_code == 200 and not UpstreamAccount.objects.filter(user=owner).exists()
    assert "Miaohua took longer than 1 s to answer; try again." in response.content.decode()
    settings.MIAOHUA_SIMULATOR_FAULTS = ""


@pytest.mark.django_db
def test_the_interactive_profile_has_no_retries_and_a_short_read_timeout(owner, settings):
    from miaohua_site.accounts.services import client_for_account

    settings.MIAOHUA_READ_TIMEOUT, settings.MIAOHUA_INTERACTIVE_TIMEOUT = 30.0, 10.0
    account = upstream_account_store(user=owner, email="demo@example.com", password="demo")
    interactive, worker = client_for_account(account, interactive=True), client_for_account(account)
    assert (interactive.max_retries, interactive.timeout[1]) == (0, 10.0)
    assert (worker.max_retries, worker.timeout[1]) == (3, 30.0)
    settings.MIAOHUA_READ_TIMEOUT = 4.0
    assert client_for_account(account, interactive=True).timeout[1] == 4.0  # never longer than configured
