"""`manage.py simulator`: the same levers from a shell."""

import io

from django.core.management import call_command

from miaohua_site.simulator.models import SimAccount


def run(*args) -> str:
    out = io.StringIO()
    call_command("simulator", *args, stdout=out)
    return out.getvalue()


def test_it_creates_an_account_with_limits_that_can_log_in(api):
    run("account", "alice@example.com", "pw", "--credits", "4", "--max-running-tasks", "1")

    assert SimAccount.objects.get(email="alice@example.com").credits == 4
    assert api.login("alice@example.com", "pw")


def test_it_expires_an_accounts_tokens(api, token):
    assert "1 token(s) expired" in run("expire-tokens", "demo@example.com")

    assert api.post("models/base", {"token": token}).json()["code"] == 411


def test_it_reports_the_calls_received(api, token):
    api.post("task_results", {"token": token, "task_ids": ["a", "b"]})

    report = run("stats")

    assert "task_results" in report and "task ids asked for in task_results: 2" in report
    run("reset-stats")
    assert run("stats").splitlines() == ["task ids asked for in task_results: 0"]
