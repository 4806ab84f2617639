"""Tokens and passwords never reach a log line, a repr or an error message; calls are logged at DEBUG."""

import logging

import pytest

from miaohua_site.simulator.services.accounts import account_create, account_expire_tokens
from miaohua_site.upstream import LoginFailed, TaskParams, UpstreamError

pytestmark = pytest.mark.django_db(transaction=True)

EMAIL = "careful@example.com"
PASSWORD = "Correct-Horse-Battery-Staple-42"


@pytest.fixture
def careful(make_client):
    account_create(email=EMAIL, password=PASSWORD)
    return make_client(email=EMAIL, password=PASSWORD)


def test_it_never_logs_or_shows_a_token_or_a_password(careful, make_client, new_tokens, settings, caplog, png_path):
    caplog.set_level(logging.DEBUG)
    errors: list[UpstreamError] = []

    careful.models_base()  # logs in first
    account_expire_tokens(email=EMAIL)
    task_id = careful.task_submit(TaskParams(prompt="a quiet harbour", n_images=1))  # logs in again
    careful.task_results([task_id])
    careful.upload_img(png_path)
    settings.MIAOHUA_SIMULATOR_FAULTS = "error_rate=1,endpoints=task_result"
    try:
        careful.task_result(task_id)  # retried, then refused
    except UpstreamError as error:
        errors.append(error)
    settings.MIAOHUA_SIMULATOR_FAULTS = ""
    for password in (PASSWORD + "-wrong", PASSWORD[:-1]):
        try:
            make_client(email=EMAIL, password=password).get_token()
        except LoginFailed as error:
            errors.append(error)

    assert len(new_tokens) == 2 and len(errors) == 3
    secrets = [PASSWORD, *new_tokens]
    shown = [caplog.text, repr(careful)]
    shown += [f"{error} {error!r} {error.user_message}" for error in errors]
    shown += [str(record.args) for record in caplog.records]
    for secret in secrets:
        assert not any(secret in text for text in shown), secret
    # What is logged: endpoint, status (and the vendor's code of a refusal) and duration of every call.
    assert "POST get_token -> 200 in" in caplog.text
    assert "POST task_submit -> 200 code 411 in" in caplog.text and "POST task_submit -> 200 in" in caplog.text
    assert "POST upload_img -> 200" in caplog.text and " ms" in caplog.text


def test_it_shows_whether_it_has_credentials_without_showing_them(careful):
    careful.get_token()

    shown = repr(careful)

    assert EMAIL in shown and "<set>" in shown
    assert PASSWORD not in shown and careful.token not in shown
