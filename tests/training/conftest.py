"""Fixtures for datasets and training: an admin connected to the simulator's demo account over HTTP, and
pictures made on the spot (good ones, and ones Miaohua's rules refuse)."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from miaohua_site.accounts.services import client_for_account, upstream_account_store
from miaohua_site.simulator import catalog


def picture(name="cat.png", size=(320, 320), colour="teal", fmt=None) -> SimpleUploadedFile:
    fmt = fmt or {"jpg": "JPEG", "jpeg": "JPEG", "webp": "WEBP"}.get(name.rsplit(".", 1)[-1].lower(), "PNG")
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, fmt)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type=f"image/{fmt.lower()}")


def not_a_picture(name="notes.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"this is a text file with a picture's name", content_type="image/png")


@pytest.fixture(autouse=True)
def fast(settings, tmp_path):
    """Files in a fresh folder; pollers that look often (the simulator trains in 2 s here)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TRAINING_POLL_INTERVAL_SECONDS = 0.2
    settings.GENERATION_POLL_INTERVAL_SECONDS = 0.1
    settings.MIAOHUA_SIMULATOR_FAULTS = ""


@pytest.fixture
def account(admin_user, simulator_url):
    catalog.ensure_seeded()
    return upstream_account_store(user=admin_user, email="demo@example.com", password="demo")


@pytest.fixture
def admin(client, admin_user, account):
    """The test client, signed in as an admin connected to the simulator's demo account."""
    client.force_login(admin_user)
    return client


@pytest.fixture
def vendor(account):
    """A client of the same Miaohua account, to look at (or prepare) what the vendor holds."""
    client = client_for_account(account)
    yield client
    client.close()
