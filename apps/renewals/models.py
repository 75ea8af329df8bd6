from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.deals.models import Contract
from apps.tenancy.models import Staff, TenantModel


def default_lead_days() -> list[int]:
    return [30, 7]


class RenewalPolicy(TenantModel):
    """When renewal reminders go out: `lead_days` before a contract's end (default 30 and 7)."""

    lead_days = ArrayField(models.PositiveSmallIntegerField(), verbose_name=_("reminder lead days"),
                           default=default_lead_days)
    updated_by = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("updated by"))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("renewal policy")
        verbose_name_plural = _("renewal policies")
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant"], name="renewal_policy_one_per_tenant"),
        ]


class RenewalReminder(TenantModel):
    """A reminder sent for a contract at a lead day: the unique key makes the daily job send
    each one once even if it runs twice."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="reminders",
                                 verbose_name=_("contract"))
    lead_days = models.PositiveSmallIntegerField(_("days before the end"))
    sent_at = models.DateTimeField(_("sent at"), default=timezone.now)

    class Meta(TenantModel.Meta):
        verbose_name = _("renewal reminder")
        verbose_name_plural = _("renewal reminders")
        ordering = ["-sent_at", "-id"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "contract", "lead_days"],
                                    name="renewal_reminder_once"),
        ]
