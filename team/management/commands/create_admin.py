"""``manage.py create_admin``: the first admin (or any member, ``--role``), for people and scripts."""

import getpass
import os
import sys

from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from miaohua_site.audit import services as audit
from miaohua_site.audit.models import AuditEvent
from team.models import Membership, Role
from team.services import members


class Command(BaseCommand):
    help = (
        "Create a person of the team, by default an admin: --username, --email, and the password from "
        "--password-stdin, from the environment variable named by --password-env, or typed twice at a prompt."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", required=True)
        parser.add_argument("--email", default="")
        parser.add_argument("--role", choices=Role.values, default=Role.ADMIN)
        parser.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
        parser.add_argument("--password-env", metavar="NAME", help="read the password from this environment variable")
        parser.add_argument(
            "--update", action="store_true", help="an existing user name: set its email, role and password instead"
        )

    def handle(self, *args, username, email, role, password_stdin, password_env, update, **options):
        username = username.strip()
        if not username:
            raise CommandError(_("--username must not be empty."))
        if email:
            try:
                validate_email(email)
            except ValidationError:
                raise CommandError(_("--email %(email)s is not an email address.") % {"email": repr(email)}) from None
        User = get_user_model()
        existing = User.objects.filter(username__iexact=username).first()
        if existing is not None and not update:
            raise CommandError(
                _("The user name %(name)s is taken (--update changes that user).")
                % {"name": repr(existing.get_username())}
            )
        password = self._password(password_stdin, password_env)
        candidate = existing or User(username=username, email=email)
        try:
            password_validation.validate_password(password, candidate)
        except ValidationError as exc:
            raise CommandError(
                _("The password is refused: %(reasons)s") % {"reasons": " ".join(exc.messages)}
            ) from None
        if existing is None:
            try:
                members.member_create(username=username, email=email, password=password, role=role, actor=None)
            except members.MemberError as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(
                self.style.SUCCESS(_("Created %(name)s (%(role)s).") % {"name": repr(username), "role": role})
            )
            return
        try:
            self._update(existing, email=email, role=role, password=password)
        except members.MemberError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            self.style.SUCCESS(
                _("Updated %(name)s (%(role)s).") % {"name": repr(existing.get_username()), "role": role}
            )
        )

    def _update(self, existing, *, email: str, role: str, password: str) -> None:
        with transaction.atomic():
            existing.set_password(password)
            if email:
                existing.email = email
            existing.is_active = True
            existing.save()
            Membership.objects.get_or_create(user=existing)
            Membership.objects.filter(user=existing).update(deactivated_at=None)
            if members.role_of(existing) != role:
                members.role_change(member=existing, role=role)
            audit.record(AuditEvent.Action.MEMBER_CREATED, actor=None, target=existing, role=role, updated=True)

    def _password(self, from_stdin: bool, env_name: str | None) -> str:
        if from_stdin and env_name:
            raise CommandError(_("Give the password one way: --password-stdin or --password-env, not both."))
        if from_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        elif env_name:
            if env_name not in os.environ:
                raise CommandError(_("The environment variable %(name)s is not set.") % {"name": env_name})
            password = os.environ[env_name]
        elif sys.stdin.isatty():
            password = getpass.getpass(_("Password: "))
            if getpass.getpass(_("Password again: ")) != password:
                raise CommandError(_("The two passwords differ."))
        else:
            raise CommandError(_("No password: use --password-stdin, --password-env NAME, or run it at a terminal."))
        if not password:
            raise CommandError(_("The password is empty."))
        return password
