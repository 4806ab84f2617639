from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from miaohua_site.accounts.services import upstream_account_store


class Command(BaseCommand):
    help = (
        "Create the demo login, connected to the simulator's demo account, and print it. An existing demo login is "
        "left as it is (a start must not sign the demo member out); --reset sets its password again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="demo")
        parser.add_argument("--password", default="demo-studio")
        parser.add_argument("--reset", action="store_true", help="set the password again (signs the member out)")

    def handle(self, *args, username, password, reset=False, **options):
        user, created = get_user_model().objects.get_or_create(username=username)
        if created or reset:
            # A new password signs out the member's sessions (Django's session hash), so only when asked for.
            user.set_password(password)
            user.is_staff = user.is_superuser = True  # the demo login is an admin: datasets and training too
            user.email = user.email or "demo@example.com"
            user.save()
        # The simulator's demo account; its token is fetched on first use, once the server runs.
        if not hasattr(user, "upstream_account"):
            upstream_account_store(user=user, email="demo@example.com", password="demo")
        if created or reset or user.check_password(password):
            self.stdout.write(self.style.SUCCESS(f"Demo login: user name {username!r}, password {password!r}"))
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo login: user name {username!r}, with the password you gave it "
                    f"(python3 manage.py setup_demo --reset sets {password!r} again)."
                )
            )
