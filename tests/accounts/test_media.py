"""Stored images are reachable only through the views that check who may see them, with DEBUG on or off."""

import importlib
import io

import pytest
from django.core.files.base import ContentFile
from django.urls import clear_url_caches, reverse
from PIL import Image

from generation.models import InputImage
from miaohua_site.accounts.services import upstream_account_store
from training.models import Dataset, DatasetImage

pytestmark = pytest.mark.django_db


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "teal").save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def debug_urls(settings):
    """The URLs as a development server (DEBUG=1) builds them."""
    import miaohua_site.urls

    settings.DEBUG = True
    clear_url_caches()
    importlib.reload(miaohua_site.urls)
    yield
    settings.DEBUG = False
    clear_url_caches()
    importlib.reload(miaohua_site.urls)


@pytest.fixture
def stored(owner, admin_user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    upload = InputImage(owner=owner)
    upload.file.save("in.png", ContentFile(png_bytes()))
    account = upstream_account_store(user=admin_user, email="demo@example.com", password="demo")
    dataset = Dataset.objects.create(name="Cats", upstream_account=account, account_email=account.email)
    image = DatasetImage(dataset=dataset, original_name="cat.png", state=DatasetImage.State.ADDED)
    image.file.save("cat.png", ContentFile(png_bytes()), save=False)
    image.thumbnail.save("thumb.webp", ContentFile(png_bytes()), save=False)
    image.save()
    return {"input": upload, "dataset": dataset, "image": image}


def test_it_serves_no_stored_file_at_media_even_in_debug(client, owner, stored, debug_urls, settings):
    paths = [stored["input"].file.name, stored["image"].file.name, stored["image"].thumbnail.name]
    for signed_in in (False, True):
        if signed_in:
            client.force_login(owner)
        for name in paths:
            assert (settings.MEDIA_ROOT / name).exists()
            assert client.get("/" + settings.MEDIA_URL.lstrip("/") + name).status_code == 404, name


def test_it_serves_an_input_image_only_to_its_owner(client, owner, outsider, stored):
    url = reverse("input_file", args=[stored["input"].pk])
    assert client.get(url).status_code == 302  # signed out: to the sign-in page
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    client.force_login(owner)
    response = client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == png_bytes()


def test_it_serves_a_dataset_image_only_to_signed_in_people(client, outsider, stored):
    url = reverse("dataset_image_file", args=[stored["dataset"].pk, stored["image"].pk, "thumb"])
    response = client.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    client.force_login(outsider)  # datasets are the team's: any member may look at them
    assert client.get(url).status_code == 200
