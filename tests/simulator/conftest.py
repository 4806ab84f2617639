"""Fixtures for the simulator's own tests: an in-process API client, accounts, tokens and pictures."""

import io

import pytest
from django.test import Client
from PIL import Image

from miaohua_site.simulator import clock
from miaohua_site.simulator.services import accounts

API = "/simulator/api/v1b/"


@pytest.fixture(autouse=True)
def simulator_defaults(settings, tmp_path):
    settings.ROOT_URLCONF = "tests.simulator.urls"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MIAOHUA_SIMULATOR_SHAPE = "live"
    settings.MIAOHUA_SIMULATOR_FAULTS = ""
    settings.MIAOHUA_SIMULATOR_TASK_SECONDS = 4
    settings.MIAOHUA_SIMULATOR_TRAIN_SECONDS = 60
    settings.MIAOHUA_SIMULATOR_TOKEN_SECONDS = 86400
    settings.MIAOHUA_SIMULATOR_ACCOUNTS = ""
    clock.reset()
    yield
    clock.reset()


class Api:
    """Calls the simulator like the vendor's samples do: JSON bodies, the token in the body."""

    def __init__(self, client: Client):
        self.client = client

    def post(self, endpoint: str, body: dict | None = None, **extra):
        return self.client.post(API + endpoint, body or {}, content_type="application/json", **extra)

    def get(self, endpoint: str, **extra):
        return self.client.get(API + endpoint, **extra)

    def login(self, email="demo@example.com", password="demo") -> str:
        return info(self.post("get_token", {"email": email, "password": password}))

    def upload(self, token: str, *files, endpoint="upload_imgs"):
        data = {"init_img": [_as_file(f) for f in files]}
        return self.client.post(API + endpoint, data, HTTP_AUTHORIZATION=f"Bearer {token}")

    def uploaded_url(self, token: str, size=(320, 320), colour=(200, 40, 40)) -> str:
        return info(self.upload(token, picture(size, colour)))[0]


def info(response):
    """The `info` of a successful answer in the default (`live`) shape: HTTP 200, envelope, code 0."""
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["code"] == 0, answer
    return answer["info"]


def refusal(response, code: int) -> str:
    """The `msg` of a refusal in the default (`live`) shape: HTTP 200 with the vendor's code."""
    assert response.status_code == 200, response.content
    answer = response.json()
    assert set(answer) == {"code", "info", "msg"} and answer["code"] == code and answer["info"] == "", answer
    return answer["msg"]


def _as_file(item):
    if isinstance(item, tuple):
        name, data = item
    else:
        name, data = "picture.png", item
    handle = io.BytesIO(data)
    handle.name = name
    return handle


def picture(size=(320, 320), colour=(200, 40, 40), fmt="PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, fmt)
    return buffer.getvalue()


@pytest.fixture
def api(db, client) -> Api:
    return Api(client)


@pytest.fixture
def token(api) -> str:
    return api.login()


@pytest.fixture
def outsider_token(api) -> str:
    """A second vendor account, who must never see the demo account's things."""
    accounts.account_create(email="outsider@example.com", password="outsider-pass")
    return api.login("outsider@example.com", "outsider-pass")


def t2i(token: str, **fields) -> dict:
    """A small valid text-to-image body."""
    return {
        "token": token,
        "versionid": "sgl_artist_v0.3.5_0925",
        "prompt": "one girl, beautiful",
        "n_images": 1,
        "scale": 7,
        "strength": 0.6,
        "output_size": "640x640",
        "select_seed": 1234,
        **fields,
    }


@pytest.fixture
def upload_url(api, token) -> str:
    """A 320x320 red picture the demo account uploaded."""
    return api.uploaded_url(token)


def submit(api, token: str, **fields) -> str:
    return info(api.post("task_submit", t2i(token, **fields)))["task_id"]


def finished(api, token: str, task_id: str) -> dict:
    """task_result's `info` once the task's time has passed."""
    clock.advance(5)
    return info(api.post("task_result", {"token": token, "task_id": task_id}))


def fetch(api, url: str) -> bytes:
    response = api.client.get(url)
    assert response.status_code == 200, url
    return b"".join(response.streaming_content) if response.streaming else response.content
