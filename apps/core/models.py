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


class RulesVersion(TenantModel):
    """A version of a tenant's rules kept as validated data (credit rule sets, reward policies,
    commission rule sets): numbered, effective from a day, never edited — a change is a new
    version (apps.core.versioning writes them). Subclasses add their Meta with
    `*version_constraints(prefix)`."""

    version = models.PositiveIntegerField(_("version"))
    effective_from = models.DateField(_("effective from"))
    name = models.CharField(_("name"), max_length=100)
    rules = models.JSONField(_("rules"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta(TenantModel.Meta):
        abstract = True
        ordering = ["-effective_from", "-version"]

    def __str__(self) -> str:
        return f"v{self.version} {self.name}"


def version_constraints(prefix: str) -> list:
    """One number per version and one version per day, in each tenant."""
    return [
        *TenantModel.Meta.constraints,
        models.UniqueConstraint(fields=["tenant", "version"], name=f"{prefix}_version"),
        models.UniqueConstraint(fields=["tenant", "effective_from"],
                                name=f"{prefix}_one_per_day"),
    ]


class JobRun(TenantModel):
    """A periodic job's run for one tenant and one period, claimed before its body runs
    (apps.tenancy.tasks): a second beat process, or the same job sent twice, finds the claim
    and does nothing. Written in the body's transaction, so a run that fails leaves no claim."""

    task = models.CharField(_("task"), max_length=100)
    period = models.CharField(_("period"), max_length=20)
    started_at = models.DateTimeField(_("started at"), auto_now_add=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("job run")
        verbose_name_plural = _("job runs")
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "task", "period"], name="core_jobrun_once"),
        ]

    def __str__(self) -> str:
        return f"{self.task} {self.period}"


class OutboxMessage(models.Model):
    """A Celery task to send once the transaction that wrote it commits (apps.core.outbox).

    Not a tenant table: the relay reads the pending messages of every tenant in one query,
    outside any tenant context, and a message holds only a task name and the ids it takes."""

    task = models.CharField(_("task"), max_length=100)
    args = models.JSONField(_("arguments"), default=list)
    kwargs = models.JSONField(_("keyword arguments"), default=dict)
    options = models.JSONField(_("options"), default=dict)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        indexes = [models.Index(fields=["created_at"], name="core_outbox_pending",
                                condition=models.Q(sent_at__isnull=True))]

    def __str__(self) -> str:
        return self.task
