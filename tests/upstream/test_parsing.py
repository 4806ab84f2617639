"""Pure unit tests, no server: reading both answer shapes, the vendor code → error table, and matching
task_results items to ids where the simulator cannot produce the situation (items without any task_id)."""

import json

import pytest
import requests

from miaohua_site.upstream import (
    AccountLimit,
    AuthenticationError,
    ContentRefused,
    DatasetPage,
    GenerationForm,
    InvalidParameter,
    LoginFailed,
    MiaohuaClient,
    ModelPage,
    NotFound,
    ProtocolError,
    RateLimited,
    SubmissionFailed,
    Task,
    TaskParams,
    TrainProgress,
    UpstreamError,
    UpstreamUnavailable,
    error_for,
)
from miaohua_site.upstream.client import _match_tasks

BASE = "http://vendor.invalid/api/v1b/"


def answer(body, status=200, headers=None):
    """A requests.Response as the vendor would send it (no network involved)."""
    response = requests.Response()
    response.status_code = status
    response._content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response.headers.update(headers or {"Content-Type": "application/json"})
    return response


def decode(body, status=200, endpoint="task_result", headers=None):
    return MiaohuaClient(BASE)._decode(endpoint, answer(body, status, headers))


TASK = {
    "state": "done",
    "images": [{"large": "https://img/1.jpg", "middle": "https://img/1.mid.jpg", "save_index": 0}],
    "select_seed": 8206464,
    "error_msg": "",
}


@pytest.mark.parametrize("body", [TASK, {"code": 0, "info": TASK, "msg": ""}], ids=["bare", "envelope"])
def test_it_reads_a_task_in_either_shape(body):
    task = Task.from_api(decode(body), "task_result", task_id="t-1")

    assert task.task_id == "t-1"
    assert task.is_done and task.status == "done"
    assert task.select_seed == 8206464
    assert task.images[0].large == "https://img/1.jpg"
    assert task.images[0].middle == "https://img/1.mid.jpg"


def test_it_accepts_an_envelope_whose_code_is_a_numeric_string():
    assert decode({"code": "0", "info": {"task_id": "abc"}}, endpoint="task_submit") == {"task_id": "abc"}


def test_it_reads_the_pending_and_failed_states():
    assert Task.from_api({"state": "pending", "images": []}, "x").is_pending
    assert Task.from_api({"state": "pending", "images": None}, "x").images == []
    # The document shows no failure state: an error_msg or any other state is a failure.
    assert Task.from_api({"state": "done", "images": [], "error_msg": "Intern error"}, "x").is_failed
    assert Task.from_api({"state": "failed", "images": []}, "x").is_failed
    assert Task.from_api({"state": "error", "images": []}, "x").is_finished


def test_it_reads_the_other_documented_shapes():
    page = ModelPage.from_api(
        {
            "has_next": True,
            "page": 1,
            "per_page": 1,
            "models": [{"model_id": 5, "model_name": "Baby Roy", "versionid": "v1", "tag": "LORA"}],
        },
        "models/lora",
    )
    assert page.has_next and page.models[0].versionid == "v1" and page.models[0].is_opensource is False

    datasets = DatasetPage.from_api(
        {
            "items": [{"id": 1, "name": "d1", "images": ["u1", "u2"], "images_num": 2}],
            "page": 1,
            "per_page": 20,
            "has_next": False,
            "has_prev": False,
            "totalPages": 1,
        },
        "dataset_all",
    )
    assert datasets.items[0].images == ["u1", "u2"] and datasets.total_pages == 1

    progress = TrainProgress.from_api({"state": "done", "training_progress": 1, "model_name": "m"}, "x")
    assert progress.is_done and progress.training_progress == 1.0

    form = GenerationForm.from_api(
        [
            {"name": "n_images", "type": "int", "default": 2, "min": 1, "max": 8},
            {"name": "resolution", "type": "dict", "choices": {"1:1": ["512x512"]}, "default": "512x512"},
        ],
        "get_generation_form",
    )
    assert form["n_images"].max == 8
    assert form.resolutions == {"1:1": ["512x512"]}


@pytest.mark.parametrize(
    "body",
    [
        {"images": []},  # no state
        {"state": 3, "images": []},  # wrong type
        {"state": "done", "images": [{"middle": "u"}]},  # an image without its large URL
        {"state": "done", "images": "nope"},
        ["not", "an", "object"],
    ],
)
def test_it_refuses_a_task_that_is_not_the_documented_shape(body):
    with pytest.raises(ProtocolError):
        Task.from_api(body, "task_result")


def test_it_refuses_an_answer_that_is_not_json():
    with pytest.raises(ProtocolError) as caught:
        decode(b"<html>hello</html>", headers={"Content-Type": "text/html"})
    assert "not JSON" in caught.value.message
    assert caught.value.endpoint == "task_result"


def test_it_refuses_an_envelope_whose_code_is_not_a_number():
    with pytest.raises(ProtocolError):
        decode({"code": "oops", "info": None})


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (401, AuthenticationError),
        (411, AuthenticationError),
        (412, AuthenticationError),
        (413, AuthenticationError),
        (101, LoginFailed),
        (119, LoginFailed),
        (102, LoginFailed),
        (121, LoginFailed),
        (120, LoginFailed),
        (416, LoginFailed),
        (429, RateLimited),
        (430, ContentRefused),
        (703, ContentRefused),
        (704, ContentRefused),
        (118, AccountLimit),
        (123, AccountLimit),
        (124, AccountLimit),
        (129, InvalidParameter),
        (403, InvalidParameter),
        (125, InvalidParameter),
        (400, InvalidParameter),
        (106, NotFound),
        (107, NotFound),
        (108, NotFound),
        (103, SubmissionFailed),
        (104, SubmissionFailed),
        (105, SubmissionFailed),
    ],
)
def test_it_maps_every_vendor_code_to_its_error(code, cls):
    error = error_for(code, "vendor says no", 200, "task_submit")

    assert type(error) is cls
    assert (error.code, error.message) == (code, "vendor says no")
    assert (error.status, error.endpoint) == (200, "task_submit")
    assert error.user_message and "vendor says no" in str(error)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, InvalidParameter),
        (401, AuthenticationError),
        (403, AuthenticationError),
        (404, ProtocolError),
        (429, RateLimited),
        (500, UpstreamUnavailable),
        (502, UpstreamUnavailable),
        (503, UpstreamUnavailable),
        (504, UpstreamUnavailable),
        (302, ProtocolError),
        (418, UpstreamError),
    ],
)
def test_it_classifies_an_http_error_without_a_code_by_its_status(status, cls):
    with pytest.raises(cls) as caught:
        decode(b"<html>gateway</html>", status=status, headers={"Content-Type": "text/html"})
    assert caught.value.status == status and caught.value.code is None


def test_it_prefers_the_vendor_code_to_the_http_status():
    with pytest.raises(InvalidParameter) as caught:
        decode({"code": 403, "msg": "bad n_images", "info": None}, status=400, endpoint="task_submit")
    assert caught.value.code == 403 and caught.value.status == 400
    assert "bad n_images" in caught.value.user_message


def test_it_falls_back_to_the_status_for_an_unknown_code():
    with pytest.raises(UpstreamUnavailable):
        decode({"code": 5003, "msg": "busy"}, status=503)
    with pytest.raises(UpstreamError):
        decode({"code": 999, "msg": "??"}, status=200)


def test_it_reads_retry_after_from_the_header():
    with pytest.raises(RateLimited) as caught:
        decode({"code": 429, "msg": "slow down"}, status=429, headers={"Retry-After": "2"})
    assert caught.value.retry_after == 2.0


def test_it_calls_a_refused_login_a_login_failure():
    assert type(error_for(401, "authentication failed", 401, "get_token")) is LoginFailed
    assert type(error_for(None, "", 401, "get_token")) is LoginFailed


def test_it_builds_the_submit_body_from_task_params():
    payload = TaskParams(prompt="one girl", n_images=1, select_seed=42).to_payload()

    assert payload["prompt"] == "one girl" and payload["versionid"] == "sgl_artist_v0.3.5_0925"
    assert payload["select_seed"] == 42 and payload["output_size"] == "960x960"
    assert "init_img" not in payload and "token" not in payload and "model_name" not in payload


def image(task_id):
    return {"task_id": task_id, "task_type": "txt2img", "large": f"https://img/{task_id}.jpg"}


def test_it_matches_batch_items_by_their_images_task_id_whatever_the_order():
    items = [
        Task.from_api({"state": "done", "images": [image("b")]}, "task_results"),
        Task.from_api({"state": "done", "images": [image("a")]}, "task_results"),
    ]

    results, unplaced = _match_tasks(["a", "b", "c"], items)

    assert list(results) == ["a", "b", "c"] and unplaced == 0
    assert results["a"].images[0].large == "https://img/a.jpg"
    assert results["b"].images[0].large == "https://img/b.jpg"
    assert results["c"].is_pending and results["c"].reported is False


def test_it_places_a_single_item_without_task_id_on_the_single_id_left():
    items = [
        Task.from_api({"state": "done", "images": [image("a")]}, "task_results"),
        Task.from_api({"state": "done", "images": [], "error_msg": "Intern error"}, "task_results"),
    ]

    results, _ = _match_tasks(["b", "a"], items)

    assert results["a"].is_done
    assert results["b"].is_failed and results["b"].task_id == "b"


def test_it_counts_finished_items_without_task_id_it_cannot_place():
    items = [
        Task.from_api({"state": "done", "images": [], "error_msg": "Intern error"}, "task_results"),
        Task.from_api({"state": "pending", "images": []}, "task_results"),
    ]

    results, unplaced = _match_tasks(["a", "b"], items)

    assert all(task.is_pending and not task.reported for task in results.values())
    assert unplaced == 1  # task_results then asks task_result about a and b


def test_it_places_alike_items_without_task_id_since_the_order_cannot_matter():
    items = [Task.from_api({"state": "pending", "images": []}, "task_results") for _ in range(3)]

    results, unplaced = _match_tasks(["a", "b", "c"], items)

    assert unplaced == 0
    assert all(task.is_pending and task.reported for task in results.values())
    assert [task.task_id for task in results.values()] == ["a", "b", "c"]


def test_it_ignores_items_for_ids_it_did_not_ask_for():
    items = [Task.from_api({"state": "done", "images": [image("zzz")]}, "task_results")]

    assert _match_tasks(["a"], items)[0]["a"].reported is False


def test_it_pools_connections_in_one_session_per_client():
    client = MiaohuaClient(BASE, pool_maxsize=7)

    adapter = client.session.get_adapter(BASE)
    assert adapter is client.session.get_adapter("https://vendor.invalid/")
    assert adapter._pool_maxsize == 7 and adapter.max_retries.total == 0
    assert client.timeout == (5.0, 30.0)
