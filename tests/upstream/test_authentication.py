"""Logging in, and logging in again by itself when the vendor refuses the token."""

import pytest
import requests

from miaohua_site.simulator import stats
from miaohua_site.simulator.models import SimAccount
from miaohua_site.simulator.services.accounts import account_create, account_expire_tokens
from miaohua_site.upstream import AuthenticationError, LoginFailed, TaskParams

from .conftest import DEMO_EMAIL

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_gets_a_token_and_hands_it_to_on_token(client, new_tokens, answer_shape):
    token = client.get_token()

    assert token and client.token == token
    assert new_tokens == [token]


def test_it_logs_in_first_when_it_has_no_token(client, new_tokens):
    page = client.models_base()

    assert page.models
    assert new_tokens == [client.token]
    assert stats.calls("get_token") == 1


def test_it_uses_the_token_it_was_given_without_logging_in(make_client, new_tokens):
    token = make_client().get_token()
    new_tokens.clear()

    client = make_client(token=token)
    client.cn_artist()

    assert new_tokens == []
    assert stats.calls("get_token") == 1


def test_it_refuses_a_wrong_password(make_client, new_tokens):
    with pytest.raises(LoginFailed) as caught:
        make_client(password="not-the-password").get_token()

    assert caught.value.code == 102
    assert caught.value.endpoint == "get_token"
    assert new_tokens == []


def test_it_refuses_an_unknown_email(make_client):
    with pytest.raises(LoginFailed) as caught:
        make_client(email="nobody@example.com").models_base()

    assert caught.value.code == 101
    assert "email or password" in caught.value.user_message


def test_it_logs_in_again_when_the_token_expired(client, new_tokens, simulator_clock, settings):
    first = client.get_token()
    simulator_clock.advance(settings.MIAOHUA_SIMULATOR_TOKEN_SECONDS + 1)

    forms = client.cn_opensource()

    assert forms
    assert client.token != first
    assert new_tokens == [first, client.token]
    assert stats.calls("cn/opensource", code=411) == 1
    assert stats.calls("cn/opensource", code=0) == 1


def test_it_logs_in_again_when_the_vendor_expires_every_token(client, new_tokens, answer_shape):
    first = client.get_token()
    account_expire_tokens(email=DEMO_EMAIL)

    task_id = client.task_submit(TaskParams(prompt="a red fox in the snow", n_images=1))

    assert task_id
    assert new_tokens == [first, client.token] and client.token != first
    # Refused once with 411, accepted once: the vendor never ran the first submission.
    assert [call.code for call in stats.history("task_submit")] == [411, 0]


@pytest.mark.parametrize("stale", ["not-a-token", "mh." + "x" * 43], ids=["undecodable", "unknown"])
def test_it_logs_in_again_when_the_token_is_invalid(make_client, new_tokens, stale):
    client = make_client(token=stale)

    assert client.get_train_form().main_bodies  # a public form needs no token at all
    assert client.models_lora().models

    assert new_tokens == [client.token] and client.token != stale


def test_it_logs_in_only_once_per_call(make_client, settings):
    settings.MIAOHUA_SIMULATOR_TOKEN_SECONDS = 0  # every token is born expired
    client = make_client()

    with pytest.raises(AuthenticationError) as caught:
        client.models_private()

    assert caught.value.code == 411
    assert stats.calls("get_token") == 2  # the first login, then one more after the refusal
    assert stats.calls("models/private") == 2


def test_it_cannot_log_in_again_without_credentials(make_client, client):
    token = client.get_token()
    account_expire_tokens(email=DEMO_EMAIL)

    with pytest.raises(AuthenticationError) as caught:
        make_client(email=None, password=None, token=token).models_base()

    assert caught.value.code == 411
    assert "expired" in caught.value.user_message


def test_it_does_not_log_in_again_for_a_banned_account(make_client, new_tokens):
    account_create(email="banned@example.com", password="banned-pass")
    client = make_client(email="banned@example.com", password="banned-pass")
    client.get_token()
    SimAccount.objects.filter(email="banned@example.com").update(banned=True)

    with pytest.raises(LoginFailed) as caught:
        client.models_base()

    assert caught.value.code == 416
    assert stats.calls("get_token") == 1
    assert len(new_tokens) == 1


def test_it_is_really_tested_against_every_answer_shape(simulator_url, answer_shape):
    raw = requests.post(simulator_url + "get_token", json={"email": DEMO_EMAIL, "password": "demo"}, timeout=5)
    refused = requests.post(simulator_url + "get_token", json={"email": DEMO_EMAIL, "password": "x"}, timeout=5)

    assert ("code" in raw.json()) is (answer_shape != "seed")
    assert (refused.status_code, refused.json()["code"]) == (401 if answer_shape == "seed" else 200, 102)


def test_it_runs_on_the_live_shape_by_default(simulator_url):
    raw = requests.post(simulator_url + "get_token", json={"email": DEMO_EMAIL, "password": "x"}, timeout=5)

    assert (raw.status_code, raw.json()["code"]) == (200, 102)


def test_it_goes_on_when_the_new_token_cannot_be_stored(make_client, caplog):
    def broken_store(token):
        raise RuntimeError(f"database is locked while saving {token}")

    client = make_client(on_token=broken_store)

    assert client.cn_artist()
    assert "on_token failed" in caplog.text and client.token not in caplog.text
