"""When the vendor is down, slow or strange: reads are retried with back-off, submissions never re-sent,
and every failure arrives as one of the client's errors."""

import json
import time

import pytest

from miaohua_site.simulator import stats
from miaohua_site.simulator.models import SimTask
from miaohua_site.upstream import (
    AuthenticationError,
    MiaohuaClient,
    ProtocolError,
    TaskParams,
    UpstreamUnavailable,
)

pytestmark = pytest.mark.django_db(transaction=True)


def wait_for_calls(endpoint, count, timeout=5.0):
    """Let the simulator finish stalled calls, so nothing writes to the database after the test."""
    deadline = time.monotonic() + timeout
    while stats.calls(endpoint) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return stats.calls(endpoint)


@pytest.mark.parametrize("status", ["500", "503"])
def test_it_retries_a_read_with_growing_pauses_then_gives_up(client, settings, sleeps, status):
    client.get_token()
    settings.MIAOHUA_SIMULATOR_FAULTS = f"error_rate=1,error_status={status},endpoints=models/base"

    with pytest.raises(UpstreamUnavailable) as caught:
        client.models_base()

    assert caught.value.status == int(status) and caught.value.endpoint == "models/base"
    assert "cannot be reached" in caught.value.user_message
    assert stats.calls("models/base") == 4  # the call and max_retries=3 retries
    assert len(sleeps) == 3
    # Exponential back-off (0.5, 1, 2 s) plus a jitter of up to 0.5 s.
    for attempt, seconds in enumerate(sleeps):
        assert 0.5 * 2**attempt <= seconds <= 0.5 * 2**attempt + 0.5


def test_it_recovers_when_the_vendor_comes_back(make_client, settings, sleeps):
    settings.MIAOHUA_SIMULATOR_FAULTS = "error_rate=1,error_status=503,endpoints=task_result+cn/artist"

    def vendor_back_after_a_pause(seconds):
        sleeps.append(seconds)
        settings.MIAOHUA_SIMULATOR_FAULTS = ""

    assert make_client(sleep=vendor_back_after_a_pause).cn_artist()
    assert len(sleeps) == 1
    assert [call.status for call in stats.history("cn/artist")] == [503, 200]


def test_it_retries_polls_and_uploads_too(make_client, client, settings, png_path):
    task_id = client.task_submit(TaskParams(prompt="a heron", n_images=1))
    settings.MIAOHUA_SIMULATOR_FAULTS = (
        "error_rate=1,endpoints=task_result+task_results+train_progress+dataset_all+upload_img+img2txt"
        "+get_generation_form+get_train_form+models/lora+models/private+cn/opensource"
    )
    flaky = make_client(token=client.token, max_retries=1)

    calls = [
        lambda: flaky.task_result(task_id),
        lambda: flaky.task_results([task_id]),
        lambda: flaky.train_progress("00000000-0000-0000-0000-000000000000"),
        lambda: flaky.dataset_all(),
        lambda: flaky.upload_img(png_path),
        lambda: flaky.img2txt("https://example.com/a.png"),
        flaky.get_generation_form,
        flaky.get_train_form,
        flaky.models_lora,
        flaky.models_private,
        flaky.cn_opensource,
    ]
    for call in calls:
        with pytest.raises(UpstreamUnavailable):
            call()

    for endpoint in ("task_result", "task_results", "train_progress", "dataset_all", "upload_img", "img2txt"):
        assert stats.calls(endpoint) == 2, endpoint
    for endpoint in (
        "get_generation_form",
        "get_train_form",
        "models/lora",
        "models/private",
        "cn/opensource",
    ):
        assert stats.calls(endpoint) == 2, endpoint


def test_it_sends_a_task_only_once_when_the_vendor_answers_503(client, settings, sleeps):
    client.get_token()
    settings.MIAOHUA_SIMULATOR_FAULTS = "error_rate=1,error_status=503,endpoints=task_submit"

    with pytest.raises(UpstreamUnavailable) as caught:
        client.task_submit(TaskParams(prompt="a red panda", n_images=1))

    assert caught.value.status == 503
    assert stats.calls("task_submit") == 1
    assert sleeps == []


def test_it_never_resends_a_training_or_a_dataset(client, settings, sleeps, uploaded):
    settings.MIAOHUA_SIMULATOR_FAULTS = "error_rate=1,endpoints=train_submit+dataset+dataset/add_images"

    with pytest.raises(UpstreamUnavailable):
        client.dataset_create("Herons", "", [uploaded])
    with pytest.raises(UpstreamUnavailable):
        client.dataset_add_images(1, [uploaded])
    with pytest.raises(UpstreamUnavailable):
        client.train_submit("heron-style", "", "", "", "Animals", [1])

    assert stats.calls("dataset") == stats.calls("dataset/add_images") == stats.calls("train_submit") == 1
    assert sleeps == []


def test_it_gives_up_on_a_read_that_hangs(make_client, client, settings, sleeps):
    task_id = client.task_submit(TaskParams(prompt="an owl", n_images=1))
    settings.MIAOHUA_SIMULATOR_FAULTS = "hang_rate=1,hang_seconds=1,endpoints=task_result"
    impatient = make_client(token=client.token, read_timeout=0.3, max_retries=1)

    started = time.monotonic()
    with pytest.raises(UpstreamUnavailable) as caught:
        impatient.task_result(task_id)

    assert time.monotonic() - started < 2.5
    assert "timed out" in caught.value.message and caught.value.may_have_reached_vendor
    assert len(sleeps) == 1
    assert wait_for_calls("task_result", 2) == 2


def test_it_does_not_resend_a_task_whose_answer_never_came(make_client, client, settings, sleeps):
    client.get_token()
    settings.MIAOHUA_SIMULATOR_FAULTS = "hang_rate=1,hang_seconds=0.8,hang_then=answer,endpoints=task_submit"
    impatient = make_client(token=client.token, read_timeout=0.3)

    with pytest.raises(UpstreamUnavailable) as caught:
        impatient.task_submit(TaskParams(prompt="a crane", n_images=1))

    # The vendor may well have the task (here it does): the caller must check, never blindly resend.
    assert caught.value.may_have_reached_vendor
    assert sleeps == []
    assert wait_for_calls("task_submit", 1) == 1
    assert SimTask.objects.count() == 1


def test_it_reports_a_closed_port_at_once_for_a_submission(make_client, closed_port_url, sleeps):
    client = make_client(base_url=closed_port_url, token="mh.some-token")

    with pytest.raises(UpstreamUnavailable) as caught:
        client.task_submit(TaskParams(prompt="nobody listens"))

    assert caught.value.may_have_reached_vendor is False
    assert caught.value.status is None and caught.value.code is None
    assert sleeps == []


def test_it_retries_a_read_against_a_closed_port(make_client, closed_port_url, sleeps):
    client = make_client(base_url=closed_port_url, max_retries=2)

    with pytest.raises(UpstreamUnavailable) as caught:
        client.get_train_form()

    assert "cannot connect" in caught.value.message
    assert len(sleeps) == 2


def test_it_reports_a_page_that_is_not_the_api(odd_server, sleeps):
    client = MiaohuaClient(odd_server.url, token="mh.token", sleep=sleeps.append)

    with pytest.raises(ProtocolError) as caught:
        client.models_base()

    assert caught.value.status == 200 and "not JSON" in caught.value.message
    assert "API address" in caught.value.user_message
    assert len(odd_server.requests) == 1 and sleeps == []  # a wrong answer is not retried


@pytest.mark.parametrize(
    "body",
    [
        {"code": 0, "info": {"models": "none"}, "msg": ""},
        {"code": 0, "info": {"has_next": False}, "msg": ""},
        {"unexpected": True},
        [1, 2, 3],
    ],
)
def test_it_reports_an_answer_of_the_wrong_shape(odd_server, body):
    odd_server.reply = lambda handler: (200, "application/json", json.dumps(body).encode(), {})

    with pytest.raises(ProtocolError):
        MiaohuaClient(odd_server.url, token="mh.token").models_lora()


def test_it_reports_a_redirect_instead_of_following_it(odd_server):
    odd_server.reply = lambda handler: (
        302,
        "text/html",
        b"",
        {"Location": "https://elsewhere.example/login"},
    )

    with pytest.raises(ProtocolError) as caught:
        MiaohuaClient(odd_server.url, token="mh.token").task_submit(TaskParams(prompt="x"))

    assert "redirect" in caught.value.message
    assert len(odd_server.requests) == 1


def test_it_keeps_a_token_a_vendor_message_echoes_out_of_the_error(odd_server):
    def echo(handler):
        token = json.loads(handler.server.requests[-1][2])["token"]
        body = {"code": 413, "msg": f"token {token} is invalid", "info": None}
        return 401, "application/json", json.dumps(body).encode(), {}

    odd_server.reply = echo
    secret = "mh.leaky-token-0123456789"

    with pytest.raises(AuthenticationError) as caught:
        MiaohuaClient(odd_server.url, token=secret).cn_artist()

    assert secret not in str(caught.value) and secret not in repr(caught.value)
    assert "***" in caught.value.message
