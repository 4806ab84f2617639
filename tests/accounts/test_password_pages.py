"""Sign-in, sign-out, password change and reset are the product's own pages (its layout, its menu, plain words),
never Django admin's; a reset whose email could not be sent says so."""

import re
import socket

import pytest
from django.core import mail
from django.urls import reverse

pytestmark = pytest.mark.django_db


def assert_product_page(response, title):
    page = response.content.decode()
    assert response.status_code == 200
    assert f"<title>{title} · Miaohua Studio</title>" in page
    assert "Django administration" not in page and "/admin/" not in page


def test_the_sign_in_page_offers_a_forgotten_password_link(client):
    response = client.get(reverse("login"))
    assert_product_page(response, "Sign in")
    assert f'<a class="small" href="{reverse("password_reset")}">Forgot password?</a>' in response.content.decode()


def test_a_member_changes_the_password_on_the_products_page(client, owner):
    client.force_login(owner)
    menu = client.get(reverse("history")).content.decode()
    assert f'href="{reverse("password_change")}">Change password</a>' in menu
    assert "Django admin" not in menu and "/admin/" not in menu  # no door a member cannot go through
    assert_product_page(client.get(reverse("password_change")), "Change password")

    wrong = client.post(
        reverse("password_change"),
        {"old_password": "nope", "new_password1": "a-new-Pass-456", "new_password2": "a-new-Pass-456"},
    )
    assert "Your old password was entered incorrectly" in wrong.content.decode()
    assert 'class="form-control is-invalid"' in wrong.content.decode()
    response = client.post(
        reverse("password_change"),
        {"old_password": "owner-pass-123", "new_password1": "a-new-Pass-456", "new_password2": "a-new-Pass-456"},
        follow=True,
    )
    assert_product_page(response, "Password changed")
    owner.refresh_from_db()
    assert owner.check_password("a-new-Pass-456")


def test_an_admin_still_finds_the_admin_in_the_menu(client, admin_user):
    client.force_login(admin_user)
    assert "Django admin" in client.get(reverse("history")).content.decode()


def test_a_forgotten_password_is_reset_through_an_emailed_link(client, owner):
    assert_product_page(client.get(reverse("password_reset")), "Forgot password")
    sent = client.post(reverse("password_reset"), {"email": "owner@example.com"}, follow=True)
    assert_product_page(sent, "Check your email")
    assert len(mail.outbox) == 1 and mail.outbox[0].subject == "Set a new password for Miaohua Studio"
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)

    form = client.get(link, follow=True)
    assert_product_page(form, "Set a new password")
    done = client.post(
        form.redirect_chain[-1][0], {"new_password1": "fresh-Pass-789", "new_password2": "fresh-Pass-789"}, follow=True
    )
    assert_product_page(done, "Password set")
    signed_in = client.post(reverse("login"), {"username": "owner", "password": "fresh-Pass-789"})
    assert signed_in.status_code == 302 and client.session["_auth_user_id"] == str(owner.pk)
    client.logout()

    used = client.get(link, follow=True)
    assert_product_page(used, "Set a new password")
    assert "This link no longer works" in used.content.decode()


def test_a_reset_email_that_cannot_be_sent_is_reported(client, owner, settings):
    with socket.socket() as probe:  # a port nothing listens on: the mail server refuses the connection
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2
    response = client.post(reverse("password_reset"), {"email": "owner@example.com"})
    assert_product_page(response, "Forgot password")
    assert "The email could not be sent" in response.content.decode()
    # An address nobody has gets the same answer: the page never tells which addresses have an account.
    unknown = client.post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert "The email could not be sent" in unknown.content.decode()


def test_signing_out_leads_to_the_sign_in_page(client, owner):
    client.force_login(owner)
    response = client.post(reverse("logout"), follow=True)
    assert_product_page(response, "Sign in")
    assert "_auth_user_id" not in client.session
