"""Submitting generation tasks and reading their results, one by one and in batches."""

import uuid

import pytest

from miaohua_site.simulator import stats
from miaohua_site.simulator.services.accounts import account_create
from miaohua_site.upstream import (
    AccountLimit,
    ContentRefused,
    InvalidParameter,
    NotFound,
    RateLimited,
    TaskParams,
)

from .conftest import wait_until_finished

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_submits_a_task_and_reads_its_images(client, answer_shape):
    task_id = client.task_submit(TaskParams(prompt="a lighthouse at dusk", n_images=2, select_seed=1234))

    first = client.task_result(task_id)
    assert first.task_id == task_id and first.is_pending and first.images == []

    task = wait_until_finished(client, task_id)
    assert task.is_done, task
    assert task.select_seed == 1234
    assert [image.save_index for image in task.images] == [0, 1]
    assert all(image.large.startswith("http") and image.middle for image in task.images)


def test_it_submits_a_plain_dict_of_vendor_fields(client):
    fields = {
        "versionid": "sgl_artist_v0.3.5_0925",
        "prompt": "one girl, beautiful",
        "n_images": 1,
        "scale": 7,
        "strength": 0.6,
        "output_size": "640x640",
        "token": "a caller's stale token is never sent",
    }

    task_id = client.task_submit(fields)

    assert uuid.UUID(task_id)


def test_it_reads_a_failed_task(client, answer_shape):
    task_id = client.task_submit(TaskParams(prompt="this one will simfail", n_images=1))

    task = wait_until_finished(client, task_id)

    assert task.is_failed and task.status == "failed"
    assert task.error_msg
    assert task.images == []


def test_it_reads_several_tasks_keyed_by_task_id(client, answer_shape):
    done_id = client.task_submit(TaskParams(prompt="a blue whale", n_images=2))
    failed_id = client.task_submit(TaskParams(prompt="simfail on purpose", n_images=1))
    wait_until_finished(client, done_id)
    wait_until_finished(client, failed_id)
    pending_id = client.task_submit(TaskParams(prompt="a slow snail", n_images=1))
    unknown_id = str(uuid.uuid4())

    results = client.task_results([pending_id, unknown_id, failed_id, done_id])

    assert list(results) == [pending_id, unknown_id, failed_id, done_id]
    assert results[done_id].is_done and len(results[done_id].images) == 2
    assert all(image.task_id == done_id and image.small for image in results[done_id].images)
    assert results[pending_id].is_pending
    assert results[unknown_id].is_pending and results[unknown_id].reported is False
    # The failed item carries no image, hence no task_id, beside a pending one: task_result tells them apart.
    assert results[failed_id].is_failed and results[failed_id].error_msg
    assert stats.calls("task_results") == 1


def test_it_places_a_failed_item_by_elimination(client):
    done_id = client.task_submit(TaskParams(prompt="a red kite", n_images=1))
    failed_id = client.task_submit(TaskParams(prompt="simfail again", n_images=1))
    wait_until_finished(client, done_id)
    wait_until_finished(client, failed_id)
    polls = stats.calls("task_result")

    results = client.task_results([failed_id, done_id])

    assert results[failed_id].is_failed and results[done_id].is_done
    assert stats.calls("task_result") == polls  # no look-up needed


def test_it_refuses_more_than_fifty_ids_before_sending(client):
    with pytest.raises(ValueError, match="at most 50"):
        client.task_results([str(uuid.uuid4()) for _ in range(51)])

    assert stats.calls("task_results") == 0


def test_it_asks_nothing_for_no_ids(client):
    assert client.task_results([]) == {}
    with pytest.raises(TypeError):
        client.task_results("3f1c0a52-0000-0000-0000-000000000000")
    assert stats.calls() == 0


def test_it_passes_the_sensitivity_threshold(client):
    task_id = client.task_submit(TaskParams(prompt="a cat", n_images=1))

    assert client.task_result(task_id, sensitive_limit_value=0.5).task_id == task_id
    assert task_id in client.task_results([task_id], sensitive_limit_value=0.5)
    with pytest.raises(InvalidParameter) as caught:
        client.task_result(task_id, sensitive_limit_value=3)
    assert caught.value.code == 129 and "sensitive_limit_value" in caught.value.message


def test_it_reports_a_sensitive_prompt(client):
    with pytest.raises(ContentRefused) as caught:
        client.task_submit(TaskParams(prompt="something simsensitive", n_images=1))

    assert caught.value.code == 430
    assert caught.value.endpoint == "task_submit"
    assert "content" in caught.value.user_message


def test_it_reports_an_illegal_parameter(client):
    with pytest.raises(InvalidParameter) as caught:
        client.task_submit(TaskParams(prompt="too many", n_images=99))

    assert caught.value.code == 129
    assert "n_images" in caught.value.message and "n_images" in caught.value.user_message
    assert stats.calls("task_submit") == 1


@pytest.mark.parametrize("task_id", [str(uuid.uuid4()), "not-a-uuid"])
def test_it_reports_an_unknown_task(client, task_id):
    with pytest.raises(NotFound) as caught:
        client.task_result(task_id)

    assert caught.value.code == 106 and caught.value.status == 200  # the live shape: HTTP 200, a code


def test_it_reports_another_accounts_task_as_unknown(make_client):
    account_create(email="other@example.com", password="other-pass")
    task_id = make_client(email="other@example.com", password="other-pass").task_submit(
        TaskParams(prompt="mine", n_images=1)
    )

    with pytest.raises(NotFound):
        make_client().task_result(task_id)


def test_it_reports_the_rate_limit_of_task_results(make_client, client):
    task_id = client.task_submit(TaskParams(prompt="a kite", n_images=1))
    impatient = make_client(token=client.token, max_retries=0)

    with pytest.raises(RateLimited) as caught:
        for _ in range(20):
            impatient.task_results([task_id])

    assert caught.value.code == 429 and caught.value.status == 200
    assert stats.calls("task_results", code=0) == 6


def test_it_waits_out_the_rate_limit_of_task_results(make_client, client, simulator_clock, sleeps):
    task_id = client.task_submit(TaskParams(prompt="a kite", n_images=1))
    # The client's sleep moves the simulator's clock, so backing off takes no real time.
    patient = make_client(token=client.token, sleep=lambda s: (sleeps.append(s), simulator_clock.advance(s)))

    for _ in range(10):
        assert task_id in patient.task_results([task_id])

    assert stats.calls("task_results", code=429) >= 1
    assert len(sleeps) == stats.calls("task_results", code=429)
    assert all(seconds > 0 for seconds in sleeps)


def test_it_describes_an_uploaded_picture(client, uploaded, answer_shape):
    caption = client.img2txt(uploaded)

    assert "320x320" in caption and "red" in caption


def test_it_reports_a_picture_it_cannot_describe(client):
    with pytest.raises(InvalidParameter) as caught:
        client.img2txt("https://example.com/not-uploaded.png")

    assert caught.value.code == 129


def test_it_reads_the_generation_form(client, answer_shape):
    form = client.get_generation_form()

    assert form["n_images"].min == 1 and form["n_images"].max == 8
    assert form["scale"].max == 20
    assert "1:1" in form.resolutions and all("x" in size for size in form.resolutions["1:1"])
    assert stats.calls("get_token") == 0  # a public form: no login


def test_it_reports_too_many_running_tasks(make_client):
    account_create(email="busy@example.com", password="busy-pass", max_running_tasks=1)
    client = make_client(email="busy@example.com", password="busy-pass")
    client.task_submit(TaskParams(prompt="the first", n_images=1))

    with pytest.raises(AccountLimit) as caught:
        client.task_submit(TaskParams(prompt="the second", n_images=1))

    assert caught.value.code == 123
    assert "limit" in caught.value.user_message


def test_it_reports_a_balance_too_low(make_client):
    account_create(email="poor@example.com", password="poor-pass", credits=1)

    with pytest.raises(AccountLimit) as caught:
        make_client(email="poor@example.com", password="poor-pass").task_submit(TaskParams(prompt="two", n_images=2))

    assert caught.value.code == 124
