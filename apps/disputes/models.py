from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.customers.models import Customer
from apps.tenancy.models import Staff, Team, TenantModel


class Dispute(TenantModel):
    """A collision (撞单): `claimant` met a customer that `owner` holds inside the protection
    window. State machine in apps.disputes.rules.TRANSITIONS:

        open ──propose──▶ proposed ──approve (manager)──▶ approved
          │  ◀─reject──┘     │
          ├──decide (manager)┴──────────────────────────▶ decided
          ├──escalate (party or manager)──▶ escalated ──decide (admin)──▶ decided
          └──withdraw (claimant)──▶ withdrawn
    """

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        PROPOSED = "proposed", _("Split proposed")
        APPROVED = "approved", _("Approved")
        DECIDED = "decided", _("Decided")
        ESCALATED = "escalated", _("Escalated")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    class Outcome(models.TextChoices):
        AWARD_OWNER = "award_owner", _("Award to the current owner")
        AWARD_CLAIMANT = "award_claimant", _("Award to the claimant")
        SPLIT = "split", _("Split by percentage")
        CONFISCATE = "confiscate", _("Confiscate (nobody earns credit)")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="disputes",
                                 verbose_name=_("customer"))
    #: The team whose manager judges it (the owner's team when opened).
    team = models.ForeignKey(Team, on_delete=models.PROTECT, null=True, blank=True,
                             related_name="+", verbose_name=_("team"))
    owner = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("current owner"))
    claimant = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("claimant"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices,
                              default=Status.OPEN)
    claim = models.TextField(_("claimant's account"), max_length=2000, blank=True)
    opened_by = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+", verbose_name=_("opened by"))
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    # The parties' agreed split (status proposed).
    proposed_by = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("proposed by"))
    proposed_at = models.DateTimeField(_("proposed at"), null=True, blank=True)
    proposal_note = models.TextField(_("proposal note"), max_length=2000, blank=True)
    # Escalation to the company.
    escalated_by = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+", verbose_name=_("escalated by"))
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    escalation_reason = models.TextField(_("escalation reason"), max_length=2000, blank=True)
    # The decision.
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, blank=True)
    #: Code of the default rule the decider picked (apps.disputes.rules.DEFAULT_RULES), if any.
    rule = models.CharField(_("rule applied"), max_length=40, blank=True)
    decision_note = models.TextField(_("reasons for the decision"), max_length=2000, blank=True)
    #: Who keeps the customer record after the decision.
    decided_owner = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="+", verbose_name=_("owner after decision"))
    decided_by = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("decided by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    ACTIVE_STATUSES = (Status.OPEN, Status.PROPOSED, Status.ESCALATED)

    class Meta(TenantModel.Meta):
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")
        ordering = ["-opened_at", "-id"]
        constraints = [
            *TenantModel.Meta.constraints,
            # One live dispute per customer and claimant: a second collision by the same person
            # joins the one already open.
            models.UniqueConstraint(
                fields=["tenant", "customer", "claimant"],
                condition=models.Q(status__in=["open", "proposed", "escalated"]),
                name="dispute_one_active_per_claimant"),
            models.CheckConstraint(condition=~models.Q(owner=models.F("claimant")),
                                   name="dispute_two_parties"),
        ]
        indexes = [
            models.Index(fields=["tenant", "team", "status", "-opened_at"],
                         name="dispute_queue_idx"),
            models.Index(fields=["tenant", "customer"], name="dispute_customer_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.customer_id}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES


class DisputeShare(TenantModel):
    """One salesperson's percentage in a proposed or decided split (the decided ones become the
    customer's ownership shares, apps.ownership.models.OwnershipShare)."""

    class Stage(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        DECIDED = "decided", _("Decided")

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="shares",
                                verbose_name=_("dispute"))
    stage = models.CharField(_("stage"), max_length=10, choices=Stage.choices)
    staff = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("salesperson"))
    percent = models.DecimalField(_("share (%)"), max_digits=5, decimal_places=2)

    class Meta(TenantModel.Meta):
        verbose_name = _("dispute share")
        verbose_name_plural = _("dispute shares")
        ordering = ["-percent", "id"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "dispute", "stage", "staff"],
                                    name="dispute_share_unique"),
            models.CheckConstraint(condition=models.Q(percent__gte=0) & models.Q(percent__lte=100),
                                   name="dispute_share_percent_range"),
        ]


def evidence_path(instance: "DisputeEvidence", filename: str) -> str:
    # Never the uploaded name (it is kept in original_name): no path tricks, no collisions.
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return (f"evidence/{instance.tenant_id}/{instance.dispute_id}/"
            f"{timezone.now():%Y%m%d%H%M%S%f}.{ext}")


class DisputeEvidence(TenantModel):
    """A file a party attached (chat screenshots, call logs, a registration form): images or
    PDF, type checked by content and size limited (apps.disputes.services.evidence_add)."""

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="evidence",
                                verbose_name=_("dispute"))
    file = models.FileField(_("file"), upload_to=evidence_path, max_length=200)
    original_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("type"), max_length=50)
    size = models.PositiveIntegerField(_("size (bytes)"))
    note = models.CharField(_("description"), max_length=200, blank=True)
    uploaded_by = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("uploaded by"))
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    class Meta(TenantModel.Meta):
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.original_name
