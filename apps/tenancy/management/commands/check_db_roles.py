from django.core.management.base import BaseCommand, CommandError

from apps.tenancy.db_roles import role_problems


class Command(BaseCommand):
    help = "Fail unless DATABASE_URL is a restricted role (not superuser, not owner, no BYPASSRLS)."

    def handle(self, *args, **options):
        problems = role_problems("default")
        if problems:
            raise CommandError("The application database role " + "; ".join(problems))
        self.stdout.write("database roles: ok (app role is restricted, row-level security applies)")
