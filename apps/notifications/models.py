from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.tenancy.models import Staff, TenantModel


class Notification(TenantModel):
    """One in-app message to one staff member, with a link to the object it is about.

    The text is stored already rendered in the recipient's language at the time of sending
    (e-mail and SMS copies go out after the commit; each person's NotificationPreference decides
    which channels a kind uses)."""

    class Kind(models.TextChoices):
        DISPUTE = "dispute", _("Dispute")
        OWNERSHIP = "ownership", _("Customer ownership")
        POOL = "pool", _("Public pool")
        WALK_IN = "walk_in", _("Walk-in")
        REFERRAL = "referral", _("Referral")
        FOLLOW_UP = "follow_up", _("Follow-up")
        RENEWAL = "renewal", _("Renewal")
        DEAL = "deal", _("Deal")
        COMMISSION = "commission", _("Commission")
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


class NotificationPreference(TenantModel):
    """A staff member's channels for one kind of notification. No row means the defaults:
    in-app on, e-mail and SMS as the sending module asks (`notify(email=, sms=)`).

    `email`/`sms` are three-state: None follows the module, True/False is the person's choice
    (on even where the module would not send, off even where it would). `in_app` off means no
    inbox row at all (the e-mail/SMS copies still go if on)."""

    staff = models.ForeignKey(Staff, on_delete=models.CASCADE,
                              related_name="notification_preferences",
                              verbose_name=_("staff member"))
    kind = models.CharField(_("kind"), max_length=20, choices=Notification.Kind.choices)
    in_app = models.BooleanField(_("in-app"), default=True)
    email = models.BooleanField(_("e-mail"), null=True, blank=True)
    sms = models.BooleanField(_("SMS"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        ordering = ["staff", "kind"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "staff", "kind"],
                                    name="notification_preference_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.staff_id}:{self.kind}"


#: What the modules ask for each kind, as (e-mail, SMS), shown as the defaults of the
#: preferences page (follow-up reminders go by e-mail and SMS; the managers' escalation of
#: overdue follow-ups by e-mail only). Without a saved choice, notify() follows what each call
#: asks, which these summarise.
MODULE_DEFAULTS: dict[str, tuple[bool, bool]] = {Notification.Kind.FOLLOW_UP: (True, True)}

CHANNELS = ("in_app", "email", "sms")
