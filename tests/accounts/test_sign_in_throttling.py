"""Wrong passwords are counted per user name and address; past the limit the sign-in is paused (also with the
right password), on the product's page and on /admin/login/, with the time to try again; an admin lifts it."""

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def sign_in(client, url, username, password):
    return client.post(url, {"username": username, "password": password})


@pytest.mark.parametrize("url", [reverse("login"), "/admin/login/"], ids=["product", "admin"])
def test_it_pauses_sign_in_after_too_many_wrong_passwords(client, admin_user, settings, url):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, url, "admin", "wrong-pass").status_code == 200
    locked = sign_in(client, url, "admin", "wrong-pass")
    assert locked.status_code == 429
    right = sign_in(client, url, "admin", "admin-pass-123")
    assert right.status_code == 429  # even the right password waits
    assert "_auth_user_id" not in client.session
    page = right.content.decode()
    assert "Too many wrong passwords for this user name" in page and "try again after" in page and "UTC" in page
    assert 'href="/accounts/password_reset/"' in page  # the product's page, not Django's


def test_another_user_name_is_not_paused(client, owner, teammate, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, reverse("login"), "owner", "wrong-pass")
    response = sign_in(client, reverse("login"), "teammate", "teammate-pass-123")
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(teammate.pk)


def test_a_right_password_before_the_limit_starts_the_count_again(client, owner, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, reverse("login"), "owner", "wrong-pass")
    assert sign_in(client, reverse("login"), "owner", "owner-pass-123").status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, reverse("login"), "owner", "wrong-pass").status_code == 200


def test_an_admin_lifts_the_pause_in_the_admin(client, owner, django_user_model, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, reverse("login"), "owner", "wrong-pass")
    assert sign_in(client, reverse("login"), "owner", "owner-pass-123").status_code == 429

    boss = django_user_model.objects.create_superuser("boss", "boss@example.com", "boss-pass-123")
    admin = Client()
    admin.force_login(boss)
    attempt = AccessAttempt.objects.get(username="owner")
    listing = admin.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200 and "owner" in listing.content.decode()
    response = admin.post(
        "/admin/axes/accessattempt/", {"action": "delete_selected", "_selected_action": [attempt.pk], "post": "yes"}
    )
    assert response.status_code == 302 and not AccessAttempt.objects.exists()

    assert sign_in(client, reverse("login"), "owner", "owner-pass-123").status_code == 302



def test_behind_a_proxy_the_visitors_address_is_counted(settings, rf):
    from miaohua_site.accounts.security import client_ip

    request = rf.post("/accounts/login/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    assert client_ip(request) == "10.0.0.1"  # no proxy trusted: X-Forwarded-For is anyone's to forge
    settings.TRUSTED_PROXIES = 1
    assert client_ip(request) == "203.0.113.7"  # what our proxy saw, not what the visitor claimed before it


def test_each_address_has_its_own_count_behind_a_proxy(client, owner, settings):
    settings.TRUSTED_PROXIES = 1
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "owner", "password": "x"}, HTTP_X_FORWARDED_FOR="203.0.113.7")
    elsewhere = client.post(
        reverse("login"), {"username": "owner", "password": "owner-pass-123"}, HTTP_X_FORWARDED_FOR="198.51.100.2"
    )
    assert elsewhere.status_code == 302
