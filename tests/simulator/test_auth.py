"""get_token, token checks on every endpoint, token expiry and forced re-login."""

from miaohua_site.simulator import clock
from miaohua_site.simulator.models import SimAccount
from miaohua_site.simulator.services import accounts
from tests.simulator.conftest import API, info, refusal


def test_it_issues_a_token_to_the_demo_account(api):
    response = api.post("get_token", {"email": "demo@example.com", "password": "demo"})

    assert set(response.json()) == {"code", "info", "msg"}
    assert info(response).startswith("mh.")


def test_it_issues_a_fresh_token_on_every_login(api):
    assert api.login() != api.login()


def test_it_refuses_a_wrong_password_with_102(api):
    response = api.post("get_token", {"email": "demo@example.com", "password": "nope"})

    assert response.status_code == 200
    assert response.json() == {"code": 102, "info": "", "msg": "password is wrong"}


def test_it_refuses_an_unknown_email_with_101(api):
    response = api.post("get_token", {"email": "nobody@example.com", "password": "demo"})

    assert "nobody@example.com" in refusal(response, 101)


def test_it_names_a_missing_email(api):
    response = api.post("get_token", {"password": "demo"})

    assert "email" in refusal(response, 129)


def test_it_matches_emails_ignoring_case(api):
    assert api.login("Demo@Example.com", "demo")


def test_it_knows_the_accounts_from_settings(api, settings):
    settings.MIAOHUA_SIMULATOR_ACCOUNTS = "alice@example.com:alice-pw, bob@example.com:b:o:b"

    assert api.login("alice@example.com", "alice-pw")
    assert api.login("bob@example.com", "b:o:b")
    assert api.login()  # the demo account stays


def test_it_refuses_a_call_without_a_token_with_401(api):
    response = api.post("models/base", {})

    assert "token" in refusal(response, 401)


def test_it_refuses_an_undecodable_token_with_412(api):
    response = api.post("models/base", {"token": "garbage"})

    refusal(response, 412)


def test_it_refuses_a_token_it_never_issued_with_413(api):
    response = api.post("models/base", {"token": "mh." + "A" * 43})

    refusal(response, 413)


def test_it_expires_tokens_after_their_lifetime(api, settings):
    settings.MIAOHUA_SIMULATOR_TOKEN_SECONDS = 60
    token = api.login()
    assert info(api.post("models/base", {"token": token}))

    clock.advance(61)
    response = api.post("models/base", {"token": token})

    refusal(response, 411)
    assert info(api.post("models/base", {"token": api.login()}))


def test_it_expires_every_token_of_an_account_on_demand(api, token, outsider_token):
    SimAccount.objects.get(email="demo@example.com").expire_tokens_now()

    refusal(api.post("models/base", {"token": token}), 411)
    assert info(api.post("models/base", {"token": outsider_token}))
    assert info(api.post("models/base", {"token": api.login()}))


def test_it_expires_tokens_by_email_through_the_service(api, token):
    assert accounts.account_expire_tokens(email="demo@example.com") == 1

    assert api.post("task_result", {"token": token, "task_id": "x"}).json()["code"] == 411


def test_it_checks_the_bearer_token_on_uploads(api, token):
    no_header = api.client.post(API + "upload_img", {})
    expired_later = api.upload(token, b"not read")

    assert "token" in refusal(no_header, 401)
    assert expired_later.json()["code"] != 401  # the token was fine: the picture was refused

    SimAccount.objects.get(email="demo@example.com").expire_tokens_now()
    assert api.upload(token, b"x").json()["code"] == 411


def test_it_refuses_a_banned_user_with_416(api, token):
    SimAccount.objects.filter(email="demo@example.com").update(banned=True)

    response = api.post("models/base", {"token": token})

    refusal(response, 416)
