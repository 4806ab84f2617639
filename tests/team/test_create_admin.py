"""``manage.py create_admin``: the first admin, or any member with --role, for people and scripts."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from miaohua_site.audit.models import AuditEvent
from team.models import Role

User = get_user_model()
pytestmark = pytest.mark.django_db
GOOD = "a-Long-pass-123"


def run(*args, stdin: str = "", monkeypatch=None, **env):
    if monkeypatch is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        for name, value in env.items():
            monkeypatch.setenv(name, value)
    out = io.StringIO()
    call_command("create_admin", *args, stdout=out)
    return out.getvalue()


def test_it_creates_the_first_admin_from_stdin(monkeypatch):
    out = run(
        "--username",
        "boss",
        "--email",
        "boss@example.com",
        "--password-stdin",
        stdin=GOOD + "\n",
        monkeypatch=monkeypatch,
    )
    assert "Created 'boss' (admin)" in out
    boss = User.objects.get(username="boss")
    assert boss.is_staff and boss.check_password(GOOD) and boss.email == "boss@example.com"
    assert boss.membership.role == Role.ADMIN
    event = AuditEvent.objects.get(action=AuditEvent.Action.MEMBER_CREATED)
    assert event.actor is None and event.target_id == str(boss.pk) and event.details["role"] == "admin"


def test_it_creates_a_viewer_from_an_environment_variable(monkeypatch):
    run(
        "--username",
        "watcher",
        "--role",
        "viewer",
        "--password-env",
        "WATCHER_PASSWORD",
        monkeypatch=monkeypatch,
        WATCHER_PASSWORD=GOOD,
    )
    watcher = User.objects.get(username="watcher")
    assert not watcher.is_staff and watcher.membership.role == Role.VIEWER and watcher.check_password(GOOD)


def test_a_taken_name_is_a_clear_error(monkeypatch, owner):
    with pytest.raises(CommandError, match="The user name 'owner' is taken"):
        run("--username", "Owner", "--password-stdin", stdin=GOOD, monkeypatch=monkeypatch)
    owner.refresh_from_db()
    assert owner.check_password("owner-pass-123") and not owner.is_staff


def test_update_sets_the_password_and_role_of_an_existing_user(monkeypatch, owner):
    out = run("--username", "owner", "--update", "--password-stdin", stdin=GOOD, monkeypatch=monkeypatch)
    assert "Updated 'owner' (admin)" in out
    owner.refresh_from_db()
    assert owner.is_staff and owner.check_password(GOOD) and owner.membership.role == Role.ADMIN


@pytest.mark.parametrize(
    "args, stdin, env, message",
    [
        (["--password-stdin"], "short", {}, "The password is refused: This password is too short"),
        (["--password-stdin"], "bossy", {}, "too similar to the username"),
        (["--password-stdin"], "\n", {}, "The password is empty"),
        (["--password-env", "NOT_SET_ANYWHERE"], "", {}, "NOT_SET_ANYWHERE is not set"),
        (["--password-stdin", "--password-env", "X"], GOOD, {"X": GOOD}, "one way"),
        ([], "", {}, "No password"),  # not a terminal, and no password given
        (["--email", "not-an-email", "--password-stdin"], GOOD, {}, "is not an email address"),
    ],
)
def test_bad_input_is_a_clear_error_and_creates_nobody(monkeypatch, args, stdin, env, message):
    with pytest.raises(CommandError, match=message):
        run("--username", "boss", *args, stdin=stdin, monkeypatch=monkeypatch, **env)
    assert not User.objects.filter(username="boss").exists()


def test_a_bad_role_is_refused_by_the_parser(monkeypatch):
    with pytest.raises(CommandError, match="invalid choice"):
        run("--username", "boss", "--role", "superuser", "--password-stdin", stdin=GOOD, monkeypatch=monkeypatch)


def test_it_asks_twice_at_a_terminal(monkeypatch):
    answers = iter([GOOD, GOOD])
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    call_command("create_admin", "--username", "typed", stdout=io.StringIO())
    assert User.objects.get(username="typed").check_password(GOOD)

    answers = iter([GOOD, "something else"])
    with pytest.raises(CommandError, match="The two passwords differ"):
        call_command("create_admin", "--username", "typed2", stdout=io.StringIO())
    assert not User.objects.filter(username="typed2").exists()
