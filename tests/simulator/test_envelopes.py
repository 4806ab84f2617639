"""MIAOHUA_SIMULATOR_SHAPE: the live evidence by default (envelopes, but dataset_all and train_progress bare;
refusals as HTTP 200 with the vendor's code), the seed document's bare shapes and HTTP statuses with `seed`,
and every answer wrapped with `envelope`. The rest of the suite runs on the default; this file keeps the
other two covered."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from miaohua_site.simulator import clock
from tests.simulator.conftest import t2i

SHOWN_BARE_BY_THE_SEED = ("get_token", "task_submit", "task_result", "dataset_all", "train_progress")


def info_or_bare(answer: dict) -> dict:
    return answer["info"] if "code" in answer else answer


def answers(api, token):
    """The five answers the seed document shows without an envelope."""
    task_id = info_or_bare(api.post("task_submit", t2i(token)).json())["task_id"]
    dataset_id = api.post("dataset", {"token": token, "name": "d", "images": [api.uploaded_url(token)]}).json()
    body = {"token": token, "name": "t", "main_body": "Style", "dataset": [dataset_id["info"]["dataset_id"]]}
    train_id = api.post("train_submit", body).json()["info"]["task_id"]
    clock.advance(5)
    return {
        "get_token": api.post("get_token", {"email": "demo@example.com", "password": "demo"}).json(),
        "task_submit": api.post("task_submit", t2i(token)).json(),
        "task_result": api.post("task_result", {"token": token, "task_id": task_id}).json(),
        "dataset_all": api.post("dataset_all?page=1", {"token": token}).json(),
        "train_progress": api.post("train_progress", {"token": token, "task_id": train_id}).json(),
    }


def enveloped(answer) -> bool:
    return set(answer) == {"code", "info", "msg"} and answer["code"] == 0 and answer["msg"] == ""


def test_it_answers_as_public_clients_of_the_live_service_read_it_by_default(api, token, settings):
    del settings.MIAOHUA_SIMULATOR_SHAPE  # the project's own default, not the fixture's

    got = answers(api, token)

    assert enveloped(got["get_token"]) and got["get_token"]["info"].startswith("mh.")
    assert enveloped(got["task_submit"]) and set(got["task_submit"]["info"]) == {"task_id"}
    assert enveloped(got["task_result"]) and got["task_result"]["info"]["state"] == "done"
    assert "code" not in got["dataset_all"] and "items" in got["dataset_all"]  # bare, as the document shows
    assert "code" not in got["train_progress"] and got["train_progress"]["state"] == "pending"


def test_it_answers_the_seed_documents_bare_shapes_in_the_seed_shape(api, token, settings):
    settings.MIAOHUA_SIMULATOR_SHAPE = "seed"

    got = answers(api, token)

    assert set(got["get_token"]) == {"token"}
    assert set(got["task_submit"]) == {"task_id"}
    assert got["task_result"]["state"] == "done"
    assert "items" in got["dataset_all"]
    assert got["train_progress"]["state"] == "pending"
    assert not any("code" in answer for answer in got.values())


def test_it_wraps_every_answer_in_the_envelope_shape(api, token, settings):
    settings.MIAOHUA_SIMULATOR_SHAPE = "envelope"

    got = answers(api, token)

    assert all(enveloped(answer) for answer in got.values())
    assert "items" in got["dataset_all"]["info"]
    assert got["train_progress"]["info"]["state"] == "pending"


@pytest.mark.parametrize("shape", ["live", "seed", "envelope"])
def test_it_keeps_the_always_enveloped_endpoints_enveloped(api, token, shape, settings):
    settings.MIAOHUA_SIMULATOR_SHAPE = shape

    for endpoint in ("task_results", "models/base", "cn/artist"):
        assert enveloped(api.post(endpoint, {"token": token, "task_ids": []}).json())


def test_it_refuses_with_http_200_and_the_vendors_code_by_default(api, settings):
    del settings.MIAOHUA_SIMULATOR_SHAPE

    response = api.post("get_token", {"email": "demo@example.com", "password": "wrong"})

    assert response.status_code == 200
    assert response.json() == {"code": 102, "info": "", "msg": "password is wrong"}


@pytest.mark.parametrize(
    "call, status, code",
    [
        (lambda api, token: api.post("get_token", {"email": "demo@example.com", "password": "wrong"}), 401, 102),
        (lambda api, token: api.post("get_token", {"email": "nobody@example.com", "password": "x"}), 401, 101),
        (lambda api, token: api.post("models/base", {}), 401, 401),
        (lambda api, token: api.post("models/base", {"token": "garbage"}), 401, 412),
        (lambda api, token: api.post("models/base", {"token": "mh." + "A" * 43}), 401, 413),
        (lambda api, token: api.post("task_submit", t2i(token, n_images=9)), 400, 129),
        (lambda api, token: api.post("task_submit", t2i(token, prompt="simsensitive")), 200, 430),
        (lambda api, token: api.post("task_result", {"token": token, "task_id": "nope"}), 404, 106),
        (lambda api, token: api.post("train_progress", {"token": token, "task_id": "nope"}), 404, 107),
        (lambda api, token: api.post("dataset", {"token": token, "name": "d", "images": ["x"]}), 400, 400),
        (lambda api, token: api.post("dataset", {"token": token, "images": []}), 400, 403),
    ],
    ids=["102", "101", "401", "412", "413", "129", "430", "106", "107", "400", "403"],
)
def test_it_refuses_with_the_http_status_of_its_table_in_the_seed_shape(api, token, settings, call, status, code):
    settings.MIAOHUA_SIMULATOR_SHAPE = "seed"

    response = call(api, token)

    assert (response.status_code, response.json()["code"], response.json()["info"]) == (status, code, "")


def test_it_answers_429_with_http_429_in_the_seed_shape_and_200_otherwise(api, token, settings):
    clock.freeze()
    for shape, status in (("seed", 429), ("live", 200)):
        settings.MIAOHUA_SIMULATOR_SHAPE = shape
        clock.advance(2)
        for _ in range(6):
            api.post("task_results", {"token": token, "task_ids": []})

        response = api.post("task_results", {"token": token, "task_ids": []})

        assert (response.status_code, response.json()["code"], response["Retry-After"]) == (status, 429, "1")


@pytest.mark.parametrize("shape", ["live", "seed", "envelope"])
def test_it_keeps_the_web_servers_own_404_and_405_in_every_shape(api, shape, settings):
    settings.MIAOHUA_SIMULATOR_SHAPE = shape

    assert api.post("no_such_thing").status_code == 404
    assert api.get("models/base").status_code == 405


def test_it_refuses_an_unknown_shape(api, settings):
    settings.MIAOHUA_SIMULATOR_SHAPE = "bare"

    with pytest.raises(ImproperlyConfigured):
        api.post("get_token", {"email": "demo@example.com", "password": "demo"})
