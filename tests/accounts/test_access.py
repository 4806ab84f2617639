"""Every page needs a sign-in; admin pages need staff."""

import pytest
from django.urls import reverse

from miaohua_site.accounts.services import upstream_account_store

pytestmark = pytest.mark.django_db

PAGES = ["home", "generate", "history", "catalog", "dataset_list", "training_list", "upstream_settings"]
ADMIN_ONLY = ["training_list"]


@pytest.mark.parametrize("name", PAGES)
def test_every_page_needs_a_sign_in(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", ADMIN_ONLY)
def test_admin_pages_are_refused_to_members(client, owner, name):
    upstream_account_store(user=owner, email="o@example.com", password="pw")
    client.force_login(owner)
    response = client.get(reverse(name))
    assert response.status_code == 403
    assert b"Only admins" in response.content


@pytest.mark.parametrize("name", ADMIN_ONLY)
def test_admin_pages_open_for_staff(client, admin_user, name):
    upstream_account_store(user=admin_user, email="a@example.com", password="pw")
    client.force_login(admin_user)
    assert client.get(reverse(name)).status_code == 200


def test_the_layout_has_the_navigation_and_the_simulator_banner(client, owner):
    client.force_login(owner)
    content = client.get(reverse("upstream_settings")).content.decode()
    for label in ["Generate", "History", "Catalog", "Datasets", "Settings"]:
        assert f">{label}</a>" in content
    assert ">Training</a>" not in content  # admins only (tests/training/test_permissions.py)
    assert "Simulator mode." in content


def test_the_banner_is_gone_against_the_real_service(client, owner, settings):
    settings.MIAOHUA_SIMULATOR = False
    settings.MIAOHUA_API_BASE = "https://miaohua.example.com/api/v1b/"
    client.force_login(owner)
    assert b"Simulator mode." not in client.get(reverse("upstream_settings")).content


def test_the_login_page_renders_and_signs_in(client, owner):
    assert client.get(reverse("login")).status_code == 200
    response = client.post(reverse("login"), {"username": "owner", "password": "owner-pass-123"})
    assert response.status_code == 302


def test_the_demo_command_creates_a_connected_admin_login(django_user_model, capsys):
    from django.core.management import call_command

    call_command("setup_demo")
    user = django_user_model.objects.get(username="demo")
    assert user.check_password("demo-studio") and user.is_staff
    assert user.upstream_account.email == "demo@example.com"
    assert user.upstream_account.password == "demo"
    assert "demo-studio" in capsys.readouterr().out
