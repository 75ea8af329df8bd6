import os

from celery import Celery
from celery.signals import beat_init, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "referral_crm.settings")

app = Celery("referral_crm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _refuse_unsafe_role(**kwargs):
    from django.conf import settings

    if settings.PRODUCTION:
        from apps.tenancy.db_roles import enforce_app_role

        enforce_app_role()


worker_process_init.connect(_refuse_unsafe_role)
beat_init.connect(_refuse_unsafe_role)
