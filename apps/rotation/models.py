from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.tenancy.models import Staff, Team, TenantModel


class DutySignIn(TenantModel):
    """A salesperson signed in for walk-in rotation (轮接) in a team on a day.

    The next walk-in goes to the present person who has waited longest: the lowest
    (`last_served_at` nulls first, `position`). Someone away is skipped and, because their
    `last_served_at` does not move, keeps their turn for when they are back."""

    class Status(models.TextChoices):
        PRESENT = "present", _("Present")
        AWAY = "away", _("Away")
        SIGNED_OUT = "signed_out", _("Signed out")

    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("team"))
    staff = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="duty_sign_ins",
                              verbose_name=_("salesperson"))
    day = models.DateField(_("day"))
    #: Sign-in order within the team and day (1, 2, …).
    position = models.PositiveSmallIntegerField(_("order"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices,
                              default=Status.PRESENT)
    signed_in_at = models.DateTimeField(_("signed in at"), default=timezone.now)
    last_served_at = models.DateTimeField(_("last received a walk-in at"), null=True, blank=True)
    served_count = models.PositiveSmallIntegerField(_("walk-ins received"), default=0)
    status_changed_at = models.DateTimeField(_("status changed at"), default=timezone.now)

    class Meta(TenantModel.Meta):
        verbose_name = _("duty sign-in")
        verbose_name_plural = _("duty sign-ins")
        ordering = ["day", "team", "position"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "team", "day", "staff"],
                                    name="duty_sign_in_once_per_day"),
            models.UniqueConstraint(fields=["tenant", "team", "day", "position"],
                                    name="duty_sign_in_position_unique"),
        ]
        indexes = [models.Index(fields=["tenant", "staff", "day"], name="duty_sign_in_staff_idx")]

    def __str__(self) -> str:
        return f"{self.day} {self.team_id} #{self.position} {self.staff_id}"
