from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.tenancy.models import Staff, TenantModel


class ExportJob(TenantModel):
    """A list export built in the background (apps.exports.tasks.build_export) because it had
    more than EXPORT_DIRECT_MAX_ROWS rows. Only `staff`, who asked, sees it; the task rebuilds
    the list from `kind` and `query` as that staff member, so the file shows what their list
    page shows. The file lives at MEDIA_ROOT/`file_path` (never served directly) until the
    daily expiry deletes it."""

    class Kind(models.TextChoices):
        CUSTOMERS = "customers", _("Customers")
        REFERRALS = "referrals", _("Referrals")
        DEALS = "deals", _("Deals")
        VIP_CARDS = "vip_cards", _("Membership cards")
        FOLLOWUPS = "followups", _("Follow-up records")

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Ready")
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", _("Expired")

    staff = models.ForeignKey(Staff, on_delete=models.CASCADE, related_name="export_jobs",
                              verbose_name=_("requested by"))
    kind = models.CharField(_("list"), max_length=20, choices=Kind.choices)
    query = models.TextField(_("filters"), blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices,
                             default=State.QUEUED)
    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    rows_done = models.PositiveIntegerField(_("rows written"), default=0)
    download_name = models.CharField(_("file name"), max_length=200)
    ascii_name = models.CharField(max_length=200)
    file_path = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(_("requested at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "staff", "-created_at"],
                                name="export_job_staff_idx"),
                   models.Index(fields=["tenant", "state", "finished_at"],
                                name="export_job_expiry_idx")]

    def __str__(self) -> str:
        return self.download_name

    def get_absolute_url(self) -> str:
        return reverse("exports:detail", kwargs={"pk": self.pk})
