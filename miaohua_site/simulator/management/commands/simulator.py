"""Poke the simulator from a shell: its call counts, an account, forcing a re-login.

manage.py simulator stats
manage.py simulator account alice@example.com secret --credits 10 --max-running-tasks 2
manage.py simulator expire-tokens demo@example.com
manage.py simulator reset-stats"""

from django.core.management.base import BaseCommand
from django.db.models import Count

from miaohua_site.simulator import catalog, stats
from miaohua_site.simulator.models import SimApiCall
from miaohua_site.simulator.services import accounts


class Command(BaseCommand):
    help = "Inspect or adjust the Miaohua simulator's state."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        actions.add_parser("stats", help="calls received, per endpoint and status")
        actions.add_parser("reset-stats", help="forget the calls received")
        account = actions.add_parser("account", help="create an account or reset its password and limits")
        account.add_argument("email")
        account.add_argument("password")
        account.add_argument(
            "--credits", type=int, default=None, help="images it may still make (default: no limit)"
        )
        account.add_argument("--max-running-tasks", type=int, default=None)
        expire = actions.add_parser(
            "expire-tokens", help="expire every token of an account (forces a re-login)"
        )
        expire.add_argument("email")

    def handle(self, *args, action, **options):
        catalog.ensure_seeded()
        if action == "stats":
            rows = (
                SimApiCall.objects.values("endpoint", "status")
                .annotate(n=Count("id"))
                .order_by("endpoint", "status")
            )
            for row in rows:
                self.stdout.write(f"{row['endpoint']:<24} {row['status']}  {row['n']}")
            self.stdout.write(f"task ids asked for in task_results: {stats.ids_requested()}")
        elif action == "reset-stats":
            stats.reset()
        elif action == "account":
            account = accounts.account_create(
                email=options["email"],
                password=options["password"],
                credits=options["credits"],
                max_running_tasks=options["max_running_tasks"],
            )
            self.stdout.write(f"account {account.email} ready")
        elif action == "expire-tokens":
            count = accounts.account_expire_tokens(email=options["email"])
            self.stdout.write(f"{count} token(s) expired")
