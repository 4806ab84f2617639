"""Uploading pictures: one or several, from paths, bytes or open files, streamed as multipart."""

import io
import os

import pytest
import requests
from PIL import Image

from miaohua_site.simulator import stats
from miaohua_site.simulator.models import SimUpload
from miaohua_site.upstream import ContentRefused, InvalidParameter

from .conftest import picture

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_uploads_a_picture_from_a_path(client, png_path, answer_shape):
    url = client.upload_img(png_path)

    assert url.startswith("http")
    upload = SimUpload.objects.get()
    assert upload.filename == "red.png" and (upload.width, upload.height) == (320, 320)
    assert bytes(upload.data) == png_path.read_bytes()
    # The link serves the very bytes sent.
    assert requests.get(url, timeout=5).content == png_path.read_bytes()


def test_it_uploads_bytes_and_open_files(client, tmp_path):
    jpeg = tmp_path / "blue.jpg"
    jpeg.write_bytes(picture("blue", fmt="JPEG"))
    webp = picture("green", fmt="WEBP")

    with open(jpeg, "rb") as opened:
        urls = client.upload_imgs([picture("yellow"), opened, webp, ("named.png", io.BytesIO(picture("white")))])

    assert len(urls) == 4 and len(set(urls)) == 4
    uploads = {u.filename: u for u in SimUpload.objects.all()}
    assert set(uploads) == {"image.png", "blue.jpg", "image.webp", "named.png"}
    assert uploads["blue.jpg"].image_format == "JPEG" and uploads["image.webp"].image_format == "WEBP"
    assert stats.calls("upload_imgs") == 1


def test_it_uploads_a_file_from_where_it_stands(client):
    stream = io.BytesIO(b"ignored prefix" + picture("purple"))
    stream.seek(len(b"ignored prefix"))

    client.upload_img(("purple.png", stream))

    assert SimUpload.objects.get().colour  # decodable: the prefix was not sent


def test_it_sends_the_token_as_a_bearer_header_after_logging_in_again(client, png_path, new_tokens):
    from miaohua_site.simulator.services.accounts import account_expire_tokens

    client.get_token()
    account_expire_tokens(email="demo@example.com")

    assert client.upload_imgs([png_path, png_path])

    assert len(new_tokens) == 2
    assert [call.code for call in stats.history("upload_imgs")] == [411, 0]


def test_it_reports_a_sensitive_picture(client, tmp_path):
    path = tmp_path / "simsensitive.png"
    path.write_bytes(picture())

    with pytest.raises(ContentRefused) as caught:
        client.upload_img(path)

    assert caught.value.code == 704


def test_it_reports_a_picture_the_vendor_does_not_take(client, tmp_path):
    tiny = tmp_path / "tiny.png"
    tiny.write_bytes(picture(size=(64, 64)))

    with pytest.raises(InvalidParameter) as caught:
        client.upload_img(tiny)

    assert caught.value.code == 129 and "256x256" in caught.value.message


def test_it_uploads_nothing_for_no_files(client):
    assert client.upload_imgs([]) == []
    assert stats.calls() == 0


class ReadRecorder(io.BytesIO):
    """A file that remembers how much was asked of it at a time."""

    def __init__(self, data):
        super().__init__(data)
        self.asked = []

    def read(self, size=-1):
        self.asked.append(size)
        return super().read(size)


def test_it_streams_a_big_file_in_small_pieces(client):
    noise = Image.frombytes("RGB", (1000, 1000), os.urandom(3_000_000))
    buffer = io.BytesIO()
    noise.save(buffer, format="PNG")
    big = ReadRecorder(buffer.getvalue())

    client.upload_img(("noise.png", big))

    assert SimUpload.objects.get().size == len(buffer.getvalue()) > 2_000_000
    assert big.asked and all(0 < size <= 64 * 1024 for size in big.asked)
