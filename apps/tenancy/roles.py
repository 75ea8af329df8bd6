from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    SALES = "sales", _("Sales")
    MANAGER = "manager", _("Manager")
    CUSTOMER_SERVICE = "customer_service", _("Customer service")
    FINANCE = "finance", _("Finance")
    ADMIN = "admin", _("Administrator")
