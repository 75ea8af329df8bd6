import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "referral_crm.settings")
application = get_wsgi_application()

from django.conf import settings  # noqa: E402

if settings.PRODUCTION:
    from apps.tenancy.db_roles import enforce_app_role  # noqa: E402

    enforce_app_role()  # refuse to serve as a superuser or as the table owner
