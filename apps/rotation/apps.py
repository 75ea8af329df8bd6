from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RotationConfig(AppConfig):
    name = "apps.rotation"
    label = "rotation"
    verbose_name = _("Walk-in rotation")
