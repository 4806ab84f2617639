"""MIAOHUA_SIMULATOR_ENVELOPES: the seed document's bare answers by default, envelopes everywhere when on."""

import pytest

from miaohua_site.simulator import clock
from tests.simulator.conftest import t2i


def bare_endpoints(api, token):
    """The five answers the seed document shows without an envelope."""
    task_id = api.post("task_submit", t2i(token)).json()
    task_id = task_id.get("task_id") or task_id["info"]["task_id"]
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


def test_it_answers_the_documents_bare_shapes_by_default(api, token):
    answers = bare_endpoints(api, token)

    assert set(answers["get_token"]) == {"token"}
    assert set(answers["task_submit"]) == {"task_id"}
    assert answers["task_result"]["state"] == "done"
    assert "items" in answers["dataset_all"]
    assert answers["train_progress"]["state"] == "pending"
    assert not any("code" in answer for answer in answers.values())


def test_it_wraps_every_answer_in_an_envelope_when_configured(api, token, settings):
    settings.MIAOHUA_SIMULATOR_ENVELOPES = True

    answers = bare_endpoints(api, token)

    assert all(set(answer) == {"code", "info", "msg"} and answer["code"] == 0 for answer in answers.values())
    assert answers["get_token"]["info"].startswith("mh.")
    assert set(answers["task_submit"]["info"]) == {"task_id"}
    assert answers["task_result"]["info"]["state"] == "done"
    assert "items" in answers["dataset_all"]["info"]
    assert answers["train_progress"]["info"]["state"] == "pending"


@pytest.mark.parametrize("envelopes", [False, True])
def test_it_always_answers_errors_in_an_envelope(api, envelopes, settings):
    settings.MIAOHUA_SIMULATOR_ENVELOPES = envelopes

    answer = api.post("get_token", {"email": "demo@example.com", "password": "wrong"}).json()

    assert answer == {"code": 102, "msg": "password is wrong", "info": None}


@pytest.mark.parametrize("envelopes", [False, True])
def test_it_keeps_the_always_enveloped_endpoints_enveloped(api, token, envelopes, settings):
    settings.MIAOHUA_SIMULATOR_ENVELOPES = envelopes

    for endpoint in ("task_results", "models/base", "cn/artist"):
        answer = api.post(endpoint, {"token": token, "task_ids": []}).json()
        assert set(answer) == {"code", "info", "msg"}
