"""The simulator over real HTTP on Django's live server, as the dashboard reaches it; the tables are
flushed between these tests, so the catalog and the demo account must come back by themselves."""

import io

import pytest
import requests
from PIL import Image

from miaohua_site.simulator import clock
from tests.conftest import SIMULATOR_PATH
from tests.simulator.conftest import picture

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def base(live_server) -> str:
    return live_server.url + SIMULATOR_PATH


def login(base: str) -> str:
    answer = requests.post(base + "get_token", json={"email": "demo@example.com", "password": "demo"}, timeout=10)
    return answer.json()["info"]  # the live shape: {"code": 0, "info": <token>, "msg": ""}


@pytest.mark.parametrize("round_", [1, 2])
def test_it_serves_a_whole_generation_over_http_after_every_flush(base, round_):
    token = login(base)
    upload = requests.post(
        base + "upload_img",
        files={"init_img": ("cat.png", picture((320, 320)), "image/png")},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ).json()["info"][0]
    body = {
        "token": token,
        "versionid": "sgl_artist_v0.3.5_0925",
        "prompt": f"round {round_}",
        "n_images": 1,
        "scale": 7,
        "strength": 0.5,
        "init_img": upload,
        "output_size": "640x640",
    }
    task_id = requests.post(base + "task_submit", json=body, timeout=10).json()["info"]["task_id"]

    clock.advance(5)
    answer = requests.post(base + "task_result", json={"token": token, "task_id": task_id}, timeout=10).json()
    result = answer["info"]
    large = requests.get(result["images"][0]["large"], timeout=10)

    assert result["state"] == "done"
    assert result["images"][0]["large"].startswith(base.removesuffix("api/v1b/"))
    assert Image.open(io.BytesIO(large.content)).size == (640, 640)


def test_it_answers_the_multipart_upload_of_several_files(base):
    token = login(base)
    files = [("init_img", (f"{i}.png", picture((300, 300)), "image/png")) for i in range(2)]

    answer = requests.post(
        base + "upload_imgs", files=files, headers={"Authorization": f"Bearer {token}"}, timeout=10
    ).json()

    assert answer["code"] == 0 and len(answer["info"]) == 2


def test_it_takes_the_token_as_a_form_field_from_older_upload_clients(base):
    token = login(base)
    files = [("init_img", ("old.png", picture((300, 300)), "image/png"))]

    answer = requests.post(base + "upload_imgs", files=files, data={"token": token}, timeout=10).json()
    refused = requests.post(base + "upload_img", files=files, data={"token": "mh." + "A" * 43}, timeout=10)

    assert answer["code"] == 0 and len(answer["info"]) == 1
    assert (refused.status_code, refused.json()["code"]) == (200, 413)
