"""MIAOHUA_SIMULATOR_FAULTS: server errors, stalls and slowness, on every endpoint or some."""

import time

import pytest
from django.core.exceptions import ImproperlyConfigured

from miaohua_site.simulator import faults, stats
from miaohua_site.simulator.models import SimTask
from tests.simulator.conftest import finished, submit, t2i


def test_it_answers_server_errors_at_an_error_rate_of_one(api, token, settings):
    settings.MIAOHUA_SIMULATOR_FAULTS = "error_rate=1"

    statuses = {api.post("models/base", {"token": token}).status_code for _ in range(12)}

    assert statuses <= {500, 503} and statuses


def test_it_answers_a_json_500_and_an_html_503(api, token, settings):
    settings.MIAOHUA_SIMULATOR_FAULTS = "error_rate=1,error_status=500"
    five_hundred = api.post("models/base", {"token": token})
    settings.MIAOHUA_SIMULATOR_FAULTS = "error_rate=1,error_status=503"
    unavailable = api.post("models/base", {"token": token})

    assert five_hundred.status_code == 500 and five_hundred.json()["code"] == 500
    assert unavailable.status_code == 503 and b"<html>" in unavailable.content


def test_it_does_nothing_for_a_call_it_fails(api, token, settings):
    settings.MIAOHUA_SIMULATOR_FAULTS = "error_rate=1"

    api.post("task_submit", t2i(token))

    assert not SimTask.objects.exists()


def test_it_restricts_faults_to_the_listed_endpoints(api, token, settings):
    settings.MIAOHUA_SIMULATOR_FAULTS = "error_rate=1,endpoints=task_results+task_result"

    task_id = submit(api, token)

    assert api.post("task_result", {"token": token, "task_id": task_id}).status_code >= 500
    assert api.post("task_results", {"token": token, "task_ids": [task_id]}).status_code >= 500
    assert api.post("models/base", {"token": token}).status_code == 200


def test_it_leaves_file_downloads_alone_unless_listed(api, token, settings):
    answer = finished(api, token, submit(api, token))
    url = answer["images"][0]["large"]

    settings.MIAOHUA_SIMULATOR_FAULTS = "error_rate=1"
    assert api.client.get(url).status_code == 200
    settings.MIAOHUA_SIMULATOR_FAULTS = "error_rate=1,endpoints=files"
    assert api.client.get(url).status_code >= 500


def test_it_stalls_then_answers_504_without_doing_the_work(api, token, settings):
    settings.MIAOHUA_SIMULATOR_FAULTS = "hang_rate=1,hang_seconds=0.3"

    started = time.monotonic()
    response = api.post("task_submit", t2i(token))

    assert time.monotonic() - started >= 0.3
    assert response.status_code == 504
    assert not SimTask.objects.exists()


def test_it_can_stall_and_then_do_the_work_anyway(api, token, settings):
    settings.MIAOHUA_SIMULATOR_FAULTS = "hang_rate=1,hang_seconds=0.2,hang_then=answer"

    response = api.post("task_submit", t2i(token))

    assert response.status_code == 200
    assert SimTask.objects.count() == 1


def test_it_slows_calls_down(api, token, settings):
    settings.MIAOHUA_SIMULATOR_FAULTS = "slow_seconds=0.3"

    started = time.monotonic()
    response = api.post("models/base", {"token": token})

    assert time.monotonic() - started >= 0.3
    assert response.status_code == 200


def test_it_rolls_the_dice_for_partial_rates(api, token, settings, monkeypatch):
    settings.MIAOHUA_SIMULATOR_FAULTS = "error_rate=0.3,hang_rate=0.2,hang_seconds=0"

    monkeypatch.setattr(faults, "roll", lambda: 0.29)
    assert api.post("models/base", {"token": token}).status_code in (500, 503)
    monkeypatch.setattr(faults, "roll", lambda: 0.45)
    assert api.post("models/base", {"token": token}).status_code == 504
    monkeypatch.setattr(faults, "roll", lambda: 0.5)
    assert api.post("models/base", {"token": token}).status_code == 200


def test_it_injects_nothing_when_empty_or_at_rate_zero(api, token, settings):
    for spec in ("", "error_rate=0,hang_rate=0"):
        settings.MIAOHUA_SIMULATOR_FAULTS = spec
        assert all(api.post("models/base", {"token": token}).status_code == 200 for _ in range(5))


def test_it_records_faulted_calls(api, token, settings):
    settings.MIAOHUA_SIMULATOR_FAULTS = "error_rate=1,error_status=503,endpoints=models/base"

    api.post("models/base", {"token": token})

    assert stats.calls("models/base", status=503) == 1


@pytest.mark.parametrize("code", [118, 123, 124])
def test_it_answers_a_vendor_refusal_in_the_current_shape_and_does_nothing(api, token, settings, code):
    settings.MIAOHUA_SIMULATOR_FAULTS = f"error_rate=1,error_code={code},endpoints=task_submit"

    answer = api.post("task_submit", t2i(token))

    assert answer.status_code == 200  # the live shape: refusals are HTTP 200 with the vendor's code
    assert answer.json()["code"] == code and answer.json()["msg"]
    assert not SimTask.objects.exists()
    assert stats.calls("task_submit", code=code) == 1


@pytest.mark.parametrize(
    "spec", ["error_rate=2", "bogus=1", "error_rate", "hang_then=maybe", "error_status=404", "error_code=999"]
)
def test_it_refuses_a_malformed_fault_setting(spec):
    with pytest.raises(ImproperlyConfigured):
        faults.parse(spec)


def test_it_parses_the_documented_example():
    plan = faults.parse(
        "error_rate=0.2,hang_rate=0.1,hang_seconds=40,slow_seconds=1.5,endpoints=task_results+task_result"
    )

    assert (plan.error_rate, plan.hang_rate, plan.hang_seconds, plan.slow_seconds, plan.slow_rate) == (
        0.2,
        0.1,
        40,
        1.5,
        1.0,
    )
    assert plan.applies_to("task_result") and not plan.applies_to("task_submit")
