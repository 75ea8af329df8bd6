from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.tenancy.models import Staff, TenantModel


class Notification(TenantModel):
    """One in-app message to one staff member, with a link to the object it is about.

    The text is stored already rendered in the recipient's language at the time of sending
    (the notification centre of a later issue adds e-mail/SMS channels and preferences)."""

    class Kind(models.TextChoices):
        DISPUTE = "dispute", _("Dispute")
        OWNERSHIP = "ownership", _("Customer ownership")
        POOL = "pool", _("Public pool")
        WALK_IN = "walk_in", _("Walk-in")
        REFERRAL = "referral", _("Referral")
        FOLLOW_UP = "follow_up", _("Follow-up")
        OTHER = "other", _("Other")

    recipient = models.ForeignKey(Staff, on_delete=models.CASCADE, related_name="notifications",
                                  verbose_name=_("recipient"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.OTHER)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("message"), max_length=2000, blank=True)
    url = models.CharField(_("link"), max_length=300, blank=True)
    target_type = models.CharField(_("object type"), max_length=64, blank=True)
    target_id = models.BigIntegerField(_("object id"), null=True, blank=True)
    created_at = models.DateTimeField(_("sent at"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "recipient", "-created_at"],
                         name="notification_inbox_idx"),
            models.Index(fields=["tenant", "recipient"], condition=models.Q(read_at__isnull=True),
                         name="notification_unread_idx"),
        ]

    def __str__(self) -> str:
        return self.title
