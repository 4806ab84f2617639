"""A generation task from submit to pictures: states from timestamps, seeds, sizes, account limits."""

import io
import time

import pytest
from PIL import Image

from miaohua_site.simulator import clock
from miaohua_site.simulator.models import SimAccount, SimTask
from tests.simulator.conftest import fetch, finished, info, refusal, submit, t2i


def result(api, token, task_id) -> dict:
    return info(api.post("task_result", {"token": token, "task_id": task_id}))


def large_bytes(api, token, **fields) -> bytes:
    answer = finished(api, token, submit(api, token, **fields))
    return fetch(api, answer["images"][0]["large"])


def test_it_answers_a_uuid_task_id(api, token):
    response = api.post("task_submit", t2i(token))

    assert set(info(response)) == {"task_id"}
    assert SimTask.objects.filter(id=info(response)["task_id"]).exists()


def test_it_is_pending_with_no_images_until_the_task_time_has_passed(api, token, settings):
    settings.MIAOHUA_SIMULATOR_TASK_SECONDS = 10
    task_id = submit(api, token, n_images=3)

    pending = result(api, token, task_id)
    clock.advance(9)
    still_pending = result(api, token, task_id)
    clock.advance(1)
    done = result(api, token, task_id)

    assert pending["state"] == "pending" and pending["images"] == [] and pending["error_msg"] == ""
    assert pending["wait_time"] == 10 and isinstance(pending["wait_time"], int)
    assert still_pending["state"] == "pending" and still_pending["wait_time"] == 1
    assert done["state"] == "done" and done["wait_time"] == 0 and done["error_msg"] == ""
    assert [image["save_index"] for image in done["images"]] == [0, 1, 2]
    assert set(done["images"][0]) == {"large", "middle", "save_index", "share", "shareable"}
    assert (done["images"][0]["share"], done["images"][0]["shareable"]) == (False, True)


def test_it_finishes_after_the_configured_seconds_in_real_time(api, token, settings):
    settings.MIAOHUA_SIMULATOR_TASK_SECONDS = 0.2
    task_id = submit(api, token)
    assert result(api, token, task_id)["state"] == "pending"

    time.sleep(0.25)

    assert result(api, token, task_id)["state"] == "done"


def test_it_fails_a_task_whose_prompt_has_the_fail_marker(api, token):
    task_id = submit(api, token, prompt="a cat, SIMFAIL")
    assert result(api, token, task_id)["state"] == "pending"

    answer = finished(api, token, task_id)

    assert answer["state"] == "failed"
    assert answer["error_msg"]
    assert answer["images"] == []


def test_it_reports_the_seed_it_was_given(api, token):
    assert finished(api, token, submit(api, token, select_seed=4242))["select_seed"] == 4242


def test_it_picks_and_keeps_a_seed_for_minus_one(api, token):
    task_id = submit(api, token, select_seed=-1)

    seeds = {result(api, token, task_id)["select_seed"], finished(api, token, task_id)["select_seed"]}

    assert len(seeds) == 1
    assert 0 <= seeds.pop() <= 9999999


def test_it_reproduces_a_picture_byte_for_byte_from_the_same_parameters_and_seed(api, token):
    first = large_bytes(api, token, prompt="a lighthouse", select_seed=77)
    again = large_bytes(api, token, prompt="a lighthouse", select_seed=77)

    assert first == again


def test_it_reproduces_a_random_seeds_picture_when_that_seed_is_sent_back(api, token):
    answer = finished(api, token, submit(api, token, prompt="a fox", select_seed=-1))
    first = fetch(api, answer["images"][0]["large"])

    assert large_bytes(api, token, prompt="a fox", select_seed=answer["select_seed"]) == first


def test_it_draws_a_different_picture_for_another_prompt_or_seed(api, token):
    base = large_bytes(api, token, prompt="a lighthouse", select_seed=77)

    assert large_bytes(api, token, prompt="a windmill", select_seed=77) != base
    assert large_bytes(api, token, prompt="a lighthouse", select_seed=78) != base


def test_it_draws_each_image_of_a_task_differently(api, token):
    answer = finished(api, token, submit(api, token, n_images=2))

    assert fetch(api, answer["images"][0]["large"]) != fetch(api, answer["images"][1]["large"])


@pytest.mark.parametrize("size", [(640, 640), (800, 1200), (1536, 640)])
def test_it_renders_exactly_the_output_size_with_a_half_middle_and_a_small(api, token, size):
    answer = finished(api, token, submit(api, token, output_size=f"{size[0]}x{size[1]}"))
    batch = api.post("task_results", {"token": token, "task_ids": [answer_id(answer)]}).json()["info"][0]

    large = Image.open(io.BytesIO(fetch(api, answer["images"][0]["large"])))
    middle = Image.open(io.BytesIO(fetch(api, answer["images"][0]["middle"])))
    small = Image.open(io.BytesIO(fetch(api, batch["images"][0]["small"])))

    assert large.size == size and large.format == "JPEG"
    assert middle.size == (size[0] // 2, size[1] // 2)
    assert max(small.size) == 256


def answer_id(answer: dict) -> str:
    return answer["images"][0]["large"].split("/files/task/")[1].split("/")[0]


def test_it_renders_the_largest_size_in_reasonable_time(api, token):
    answer = finished(api, token, submit(api, token, output_size="6144x6144"))

    started = time.monotonic()
    picture = Image.open(io.BytesIO(fetch(api, answer["images"][0]["large"])))
    first = time.monotonic() - started
    started = time.monotonic()
    fetch(api, answer["images"][0]["middle"])
    cached = time.monotonic() - started

    assert picture.size == (6144, 6144)
    assert first < 10
    assert cached < 1


def test_it_gives_an_image_to_image_task_its_init_images_size(api, token):
    init = api.uploaded_url(token, size=(300, 400))
    body = t2i(token, init_img=init)
    del body["output_size"]
    task_id = info(api.post("task_submit", body))["task_id"]

    answer = finished(api, token, task_id)
    batch = api.post("task_results", {"token": token, "task_ids": [task_id]}).json()["info"][0]

    assert Image.open(io.BytesIO(fetch(api, answer["images"][0]["large"]))).size == (300, 400)
    assert batch["images"][0]["task_type"] == "img2img"


def test_it_lets_output_size_override_the_init_images_size(api, token):
    init = api.uploaded_url(token, size=(300, 400))

    answer = finished(api, token, submit(api, token, init_img=init, output_size="640x800"))

    assert Image.open(io.BytesIO(fetch(api, answer["images"][0]["large"]))).size == (640, 800)


def test_it_gives_fresh_links_on_a_later_poll(api, token):
    task_id = submit(api, token)
    first = finished(api, token, task_id)["images"][0]["large"]

    clock.advance(2)
    second = result(api, token, task_id)["images"][0]["large"]

    assert first != second
    assert fetch(api, first) == fetch(api, second)


def test_it_does_not_show_a_task_to_another_account(api, token, outsider_token):
    task_id = submit(api, token)

    response = api.post("task_result", {"token": outsider_token, "task_id": task_id})

    assert task_id in refusal(response, 106)


def test_it_answers_106_for_an_unknown_task(api, token):
    for task_id in ("f3e5b59c-7416-11ed-a160-00163e025c94", "not-a-uuid"):
        response = api.post("task_result", {"token": token, "task_id": task_id})
        refusal(response, 106)


def test_it_names_a_missing_task_id(api, token):
    response = api.post("task_result", {"token": token})

    assert refusal(response, 129) == "task_id is required (the id task_submit answered)"


def test_it_takes_an_empty_task_id_as_a_value_that_names_no_task(api, token):
    response = api.post("task_result", {"token": token, "task_id": ""})

    refusal(response, 106)


def test_it_checks_sensitive_limit_value(api, token):
    task_id = submit(api, token)

    good = api.post("task_result", {"token": token, "task_id": task_id, "sensitive_limit_value": 1})
    bad = api.post("task_result", {"token": token, "task_id": task_id, "sensitive_limit_value": 1.5})

    assert info(good)
    assert "sensitive_limit_value" in refusal(bad, 129)


def test_it_refuses_past_the_accounts_running_task_limit_with_123(api, token):
    SimAccount.objects.filter(email="demo@example.com").update(max_running_tasks=2)
    submit(api, token)
    submit(api, token)

    response = api.post("task_submit", t2i(token))
    clock.advance(5)

    refusal(response, 123)
    assert info(api.post("task_submit", t2i(token)))


def test_it_spends_a_credit_per_image_and_refuses_with_124_when_too_few_are_left(api, token):
    SimAccount.objects.filter(email="demo@example.com").update(credits=3)
    submit(api, token, n_images=2)

    response = api.post("task_submit", t2i(token, n_images=2))

    refusal(response, 124)
    assert SimAccount.objects.get(email="demo@example.com").credits == 1
    submit(api, token, n_images=1)
