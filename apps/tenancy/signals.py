from django.conf import settings
from django.db import connections
from django.db.models.signals import post_migrate
from django.dispatch import receiver

from .db_roles import grant_app_role


@receiver(post_migrate, dispatch_uid="tenancy_grant_app_role")
def grant_after_migrate(sender, using, **kwargs):
    if sender.name != "apps.tenancy":
        return
    app_user = settings.DATABASES["default"].get("USER")
    if app_user and app_user != connections[using].settings_dict.get("USER"):
        grant_app_role(using, app_user)
