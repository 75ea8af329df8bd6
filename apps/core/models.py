from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.tenancy.models import Staff, TenantModel


class AuditEntry(TenantModel):
    """One decision about people, money or ownership: who, when, what, why. Never edited."""

    actor = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+", verbose_name=_("actor"))
    action = models.CharField(_("action"), max_length=64)
    target_type = models.CharField(_("object type"), max_length=64)
    target_id = models.BigIntegerField(_("object id"), null=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["tenant", "target_type", "target_id"],
                                name="audit_target_idx")]

    def __str__(self) -> str:
        return f"{self.action} {self.target_type}#{self.target_id}"
