"""task_results: the batch shape, at most 50 ids, 6 calls per second per token, and the call log."""

import uuid

from miaohua_site.simulator import clock, stats
from tests.simulator.conftest import refusal, submit


def batch(api, token, task_ids, **extra):
    return api.post("task_results", {"token": token, "task_ids": task_ids, **extra})


def test_it_answers_an_envelope_with_one_item_per_known_task(api, token):
    done_id, pending_id = submit(api, token, n_images=2), None
    clock.advance(5)
    pending_id = submit(api, token)

    response = batch(api, token, [done_id, pending_id, str(uuid.uuid4())])

    answer = response.json()
    assert (response.status_code, answer["code"], answer["msg"]) == (200, 0, "")
    assert len(answer["info"]) == 2
    done = next(item for item in answer["info"] if item["images"])
    pending = next(item for item in answer["info"] if not item["images"])
    assert done["state"] == "done" and pending["state"] == "pending"
    assert [image["task_id"] for image in done["images"]] == [done_id, done_id]
    assert set(done["images"][0]) == {"task_id", "task_type", "large", "middle", "small", "save_index"}
    assert done["images"][0]["task_type"] == "txt2img"
    assert {"select_seed", "error_msg"} <= set(done)


def test_it_leaves_out_another_accounts_tasks(api, token, outsider_token):
    theirs = submit(api, outsider_token)
    clock.advance(5)

    assert batch(api, token, [theirs]).json()["info"] == []


def test_it_accepts_fifty_ids_and_refuses_fifty_one(api, token):
    ids = [str(uuid.uuid4()) for _ in range(51)]

    fifty = batch(api, token, ids[:50])
    fifty_one = batch(api, token, ids)

    assert fifty.status_code == 200 and fifty.json()["info"] == []
    assert "task_ids" in refusal(fifty_one, 129)


def test_it_names_task_ids_when_they_are_not_a_list_of_strings(api, token):
    for bad in (None, "abc", [1, 2]):
        answer = batch(api, token, bad).json()
        assert answer["code"] == 129 and "task_ids" in answer["msg"]


def test_it_allows_six_calls_a_second_and_answers_429_to_the_seventh(api, token):
    clock.freeze()
    answers = [batch(api, token, []) for _ in range(7)]

    assert [a.json()["code"] for a in answers] == [0] * 6 + [429]
    assert "6 calls per second" in refusal(answers[-1], 429)
    assert answers[-1]["Retry-After"] == "1"


def test_it_allows_calls_again_once_the_second_has_passed(api, token):
    clock.freeze()
    for _ in range(6):
        batch(api, token, [])
    assert batch(api, token, []).json()["code"] == 429

    clock.advance(0.99)
    assert batch(api, token, []).json()["code"] == 429
    clock.advance(0.02)

    assert batch(api, token, []).json()["code"] == 0


def test_it_counts_the_limit_per_token(api, token, outsider_token):
    clock.freeze()
    for _ in range(6):
        batch(api, token, [])

    assert batch(api, token, []).json()["code"] == 429
    assert batch(api, outsider_token, []).json()["code"] == 0


def test_it_records_every_call_and_the_ids_asked_for(api, token):
    clock.freeze()
    for _ in range(7):
        batch(api, token, ["a", "b", "c"])
    api.post("models/base", {"token": token})

    assert stats.calls("task_results") == 7
    assert stats.calls("task_results", code=429) == 1
    assert stats.calls("task_results", status=200) == 7  # the live shape refuses with HTTP 200
    assert stats.ids_requested() == 21
    assert stats.calls() == 8 + 1  # and the get_token of the fixture
    assert stats.history("task_results")[0].account_email == "demo@example.com"

    stats.reset()
    assert stats.calls() == 0
