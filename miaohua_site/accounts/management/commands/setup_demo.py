from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from miaohua_site.accounts.services import upstream_account_store


class Command(BaseCommand):
    help = "Create (or reset) the demo login, connected to the simulator's demo account, and print it."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="demo")
        parser.add_argument("--password", default="demo-studio")

    def handle(self, *args, username, password, **options):
        user, _ = get_user_model().objects.get_or_create(username=username)
        user.set_password(password)
        user.is_staff = user.is_superuser = True  # the demo login is an admin: datasets and training too
        user.email = user.email or "demo@example.com"
        user.save()
        # The simulator's demo account; its token is fetched on first use, once the server runs.
        if not hasattr(user, "upstream_account"):
            upstream_account_store(user=user, email="demo@example.com", password="demo")
        self.stdout.write(self.style.SUCCESS(f"Demo login: user name {username!r}, password {password!r}"))
