"""upload_img / upload_imgs: the vendor FAQ's types, size and resolution, checked on the picture itself."""

import io
import os

import pytest
from PIL import Image

from miaohua_site.simulator.models import SimUpload
from tests.simulator.conftest import API, fetch, picture


def refused(response, *words, code=129):
    answer = response.json()
    assert (response.status_code, answer["code"]) == (200, code), answer  # the live shape: HTTP 200
    assert answer["info"] == ""
    for word in words:
        assert word in answer["msg"], answer


@pytest.mark.parametrize(
    "name, fmt",
    [
        ("a.png", "PNG"),
        ("b.jpg", "JPEG"),
        ("c.jpeg", "JPEG"),
        ("d.jfif", "JPEG"),
        ("e.pjpeg", "JPEG"),
        ("f.pjp", "JPEG"),
        ("g.webp", "WEBP"),
        ("UPPER.PNG", "PNG"),
    ],
)
def test_it_accepts_every_documented_type(api, token, name, fmt):
    response = api.upload(token, (name, picture(fmt=fmt)), endpoint="upload_img")

    answer = response.json()
    assert (response.status_code, answer["code"], answer["msg"]) == (200, 0, "")
    assert len(answer["info"]) == 1 and answer["info"][0].startswith("http://testserver/simulator/files/upload/")


def test_it_serves_the_uploaded_bytes_back(api, token):
    data = picture((300, 280), (10, 200, 10))

    url = api.upload(token, ("green.png", data)).json()["info"][0]

    assert fetch(api, url) == data
    assert "Expires=" in url and "Signature=" in url


def test_it_uploads_several_files_at_once_in_order(api, token):
    files = [(f"{i}.png", picture((300 + i, 300))) for i in range(3)]

    urls = api.upload(token, *files).json()["info"]

    assert [Image.open(io.BytesIO(fetch(api, url))).width for url in urls] == [300, 301, 302]


def test_it_takes_one_file_on_upload_img(api, token):
    refused(api.upload(token, picture(), picture(), endpoint="upload_img"), "init_img", "upload_imgs")


def test_it_wants_a_file_under_init_img(api, token):
    response = api.client.post(
        API + "upload_imgs", {"image": io.BytesIO(picture())}, HTTP_AUTHORIZATION=f"Bearer {token}"
    )

    refused(response, "init_img")


def test_it_refuses_an_undocumented_type(api, token):
    refused(api.upload(token, ("cat.gif", picture(fmt="GIF"))), "init_img[0]", "cat.gif", ".gif")


def test_it_refuses_a_documented_name_on_another_format(api, token):
    refused(api.upload(token, ("cat.png", picture(fmt="GIF"))), "cat.png", "GIF")


def test_it_refuses_bytes_that_are_not_a_picture(api, token):
    refused(api.upload(token, ("cat.png", b"\x89PNG\r\n\x1a\n but not really")), "cat.png", "decodable")


def test_it_refuses_a_truncated_picture(api, token):
    data = picture((400, 400), fmt="JPEG")

    refused(api.upload(token, ("cut.jpg", data[: len(data) // 2])), "cut.jpg", "decodable")


def test_it_refuses_more_than_five_megabytes(api, token):
    noise = Image.frombytes("RGB", (1400, 1400), os.urandom(1400 * 1400 * 3))
    buffer = io.BytesIO()
    noise.save(buffer, "PNG", compress_level=0)
    assert buffer.tell() > 5 * 1024 * 1024

    refused(api.upload(token, ("noise.png", buffer.getvalue())), "noise.png", "5 MB")


@pytest.mark.parametrize("size", [(256, 256), (6144, 256), (256, 6144)])
def test_it_accepts_sides_from_256_to_6144(api, token, size):
    assert api.upload(token, ("edge.png", picture(size))).status_code == 200


@pytest.mark.parametrize("size", [(255, 256), (256, 255), (6145, 256)])
def test_it_refuses_sides_outside_256_to_6144(api, token, size):
    refused(api.upload(token, ("edge.png", picture(size))), "edge.png", f"{size[0]}x{size[1]}")


def test_it_stores_none_when_one_file_is_refused(api, token):
    response = api.upload(token, ("ok.png", picture()), ("small.png", picture((100, 100))))

    refused(response, "init_img[1]", "small.png")
    assert not SimUpload.objects.exists()


def test_it_answers_704_for_a_sensitive_picture(api, token):
    refused(api.upload(token, ("simsensitive.png", picture())), "sensitive", code=704)
