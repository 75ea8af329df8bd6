"""The database roles: the owner migrates, the restricted app role serves requests."""

from django.core.exceptions import ImproperlyConfigured
from django.db import connections


def grant_app_role(using: str, app_role: str) -> None:
    """Give the app role data access (never TRUNCATE, which ignores row-level security)."""
    role = connections[using].ops.quote_name(app_role)
    with connections[using].cursor() as cur:
        cur.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
        cur.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}")
        cur.execute(f"REVOKE INSERT, UPDATE, DELETE ON django_migrations FROM {role}")
        cur.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")


def role_problems(using: str = "default") -> list[str]:
    """What is wrong with the role `using` connects as, for an application role."""
    problems = []
    with connections[using].cursor() as cur:
        cur.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        is_super, bypass = cur.fetchone()
        if is_super:
            problems.append("connects as a superuser (row-level security would be bypassed)")
        if bypass:
            problems.append("connects as a role with BYPASSRLS")
        cur.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' "
                    "AND tableowner = current_user")
        if cur.fetchone()[0]:
            problems.append("connects as the owner of the tables")
    return problems


def enforce_app_role(using: str = "default") -> None:
    problems = role_problems(using)
    if problems:
        raise ImproperlyConfigured(
            "Refusing to start: the application database role " + "; ".join(problems)
            + ". Set DATABASE_URL to the restricted role and DATABASE_OWNER_URL to the owner.")
