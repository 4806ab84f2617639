"""train_submit, train_progress, and the trained LoRA showing up in models/private for generation."""

import pytest

from miaohua_site.simulator import clock
from miaohua_site.simulator.models import SimModel
from tests.simulator.conftest import refusal, submit, t2i


def dataset(api, token) -> int:
    body = {"token": token, "name": "cats", "images": [api.uploaded_url(token)]}
    return api.post("dataset", body).json()["info"]["dataset_id"]


def train(api, token, **fields):
    body = {
        "token": token,
        "name": "my style",
        "description": "d",
        "base_model": "SDXL 1.0",
        "trigger_word": "one girl",
        "main_body": "Style",
        **fields,
    }
    if "dataset" not in fields:
        body["dataset"] = [dataset(api, token)]
    return api.post("train_submit", body)


def progress(api, token, task_id) -> dict:
    response = api.post("train_progress", {"token": token, "task_id": task_id})
    assert response.status_code == 200, response.json()
    return response.json()  # bare, as the document shows it, in the live shape too


def private_models(api, token) -> list[dict]:
    return api.post("models/private", {"token": token}).json()["info"]["models"]


def test_it_accepts_a_training_and_answers_its_task_id(api, token):
    response = train(api, token)

    answer = response.json()
    assert (response.status_code, answer["code"], answer["msg"]) == (200, 0, "")
    assert set(answer["info"]) == {"task_id"}


def test_it_raises_progress_monotonically_from_pending_to_done(api, token, settings):
    settings.MIAOHUA_SIMULATOR_TRAIN_SECONDS = 100
    clock.freeze()  # only advance() moves time, so a slow machine cannot add its own milliseconds
    task_id = train(api, token).json()["info"]["task_id"]

    seen = []
    for _ in range(12):
        answer = progress(api, token, task_id)
        seen.append((answer["state"], answer["training_progress"]))
        clock.advance(10)

    assert seen[0] == ("pending", 0.0)
    assert seen[5] == ("running", 0.5)
    assert seen[-1] == ("done", 1.0)
    values = [value for _, value in seen]
    assert values == sorted(values)
    assert {state for state, _ in seen} == {"pending", "running", "done"}


def test_it_answers_progress_bare_with_the_documented_fields(api, token):
    task_id = train(api, token, trigger_word="tw").json()["info"]["task_id"]

    answer = progress(api, token, task_id)

    assert {
        "create_time",
        "description",
        "main_body",
        "model_name",
        "state",
        "training_progress",
        "trigger_word",
    } <= set(answer)
    assert (answer["model_name"], answer["trigger_word"], answer["main_body"]) == ("my_style", "tw", "Style")


def test_it_renames_the_trained_model_as_the_documents_example_does(api, token, settings):
    task_id = train(api, token, name="train  model1").json()["info"]["task_id"]
    clock.advance(61)

    assert progress(api, token, task_id)["model_name"] == "train_model1"  # the document: 'train_model1'
    assert [m["model_name"] for m in private_models(api, token)] == ["train_model1"]
    assert train(api, token, name="train_model1").json()["code"] == 403  # the name is taken, either spelling

    settings.MIAOHUA_SIMULATOR_RENAME_TRAINED = False
    kept = train(api, token, name="kept as given").json()["info"]["task_id"]
    clock.advance(61)
    assert progress(api, token, kept)["model_name"] == "kept as given"


def test_it_adds_the_trained_lora_to_the_accounts_private_models(api, token, outsider_token):
    task_id = train(api, token).json()["info"]["task_id"]
    assert private_models(api, token) == []

    clock.advance(61)
    assert progress(api, token, task_id)["state"] == "done"
    progress(api, token, task_id)

    models = private_models(api, token)
    assert [(m["model_name"], m["tag"], m["base_model"]) for m in models] == [("my_style", "LORA", "SDXL 1.0")]
    assert models[0]["is_opensource"] is True
    assert private_models(api, outsider_token) == []
    assert SimModel.objects.filter(kind="private").count() == 1


def test_it_lets_generation_use_the_trained_lora_even_before_anyone_polled(api, token, outsider_token):
    train(api, token)
    clock.advance(61)
    versionid = SimModel.objects.filter(kind="private").values_list("versionid", flat=True).first()
    assert versionid is None  # created the first time someone looks

    layer = {"versionid": private_models(api, token)[0]["versionid"], "merge_weight": 1}

    assert submit(api, token, lora_configs=[layer])
    refused = api.post("task_submit", t2i(outsider_token, versionid="sdxl_base_v1.0", lora_configs=[layer]))
    assert "lora_configs[0].versionid" in refusal(refused, 129)


def test_it_fails_a_training_named_with_the_fail_marker(api, token):
    task_id = train(api, token, name="simfail style").json()["info"]["task_id"]

    clock.advance(61)
    answer = progress(api, token, task_id)

    assert answer["state"] == "failed" and answer["error_msg"]
    assert private_models(api, token) == []


def test_it_refuses_a_name_already_used(api, token):
    train(api, token)

    assert "name" in refusal(train(api, token), 403)


def test_it_checks_the_fields_against_the_training_form(api, token, outsider_token):
    theirs = dataset(api, outsider_token)
    cases = [
        ({"base_model": "Imaginary"}, "base_model"),
        ({"base_model": ""}, "base_model"),
        ({"main_body": "Cars"}, "main_body"),
        ({"dataset": []}, "dataset"),
        ({"dataset": [theirs]}, "dataset"),
        ({"dataset": ["1"]}, "dataset"),
    ]
    for fields, field in cases:
        assert field in refusal(train(api, token, **fields), 403), fields


@pytest.mark.parametrize("field", ["name", "main_body", "dataset"])
def test_it_refuses_a_training_without_a_required_field(api, token, field):
    body = {"token": token, "name": "my style", "main_body": "Style", "dataset": [dataset(api, token)]}
    del body[field]

    assert refusal(api.post("train_submit", body), 403).startswith(f"{field} is required")


def test_it_takes_an_empty_name_as_a_value(api, token):
    assert train(api, token, name="").json()["code"] == 0


def test_it_chooses_a_base_model_when_asked_to_or_none_is_given(api, token):
    train(api, token, name="auto", base_model="自动选择")
    body = {"token": token, "name": "none", "main_body": "Human", "dataset": [dataset(api, token)]}
    api.post("train_submit", body)
    clock.advance(61)

    assert {m["base_model"] for m in private_models(api, token)} == {"Artist v0.3.5"}


def test_it_answers_107_for_a_training_it_does_not_know(api, token, outsider_token):
    task_id = train(api, outsider_token).json()["info"]["task_id"]

    for unknown in (task_id, "nope"):
        response = api.post("train_progress", {"token": token, "task_id": unknown})
        refusal(response, 107)


def test_it_names_a_missing_training_task_id(api, token):
    response = api.post("train_progress", {"token": token})

    assert refusal(response, 403) == "task_id is required (the id train_submit answered)"


def test_it_answers_the_documents_keys_in_train_progress(api, token):
    task_id = train(api, token).json()["info"]["task_id"]
    clock.advance(61)

    answer = progress(api, token, task_id)

    assert set(answer) == {
        "create_time", "description", "main_body", "model_name", "state", "training_progress", "trigger_word"
    }  # fmt: skip
