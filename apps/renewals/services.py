"""Writes of the renewals app: the renewal policy and the daily renewal reminders.
(Contracts themselves are written by apps.deals.contracts.)"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext_lazy

from apps.core.audit import audit_record
from apps.core.i18n import lazy_format
from apps.deals.models import Contract
from apps.notifications.models import Notification
from apps.notifications.services import notify
from apps.ownership.selectors import tenant_today
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Staff, Tenant
from apps.tenancy.roles import Role

from . import selectors
from .models import RenewalPolicy

MAX_LEAD_DAYS = 5
MAX_LEAD_DAY = 365
#: The notification kind of renewal reminders (the Notification model has no "renewal" kind).
REMINDER_KIND = Notification.Kind.RENEWAL




# --------------------------------------------------------------------------- policy

def lead_days_errors(lead_days) -> list[str]:
    """Why `lead_days` is not a valid list of reminder lead days (empty list: it is)."""
    if lead_days is None or not isinstance(lead_days, (list, tuple)) or not lead_days:
        return [_("Enter at least one lead day.")]
    errors = []
    if not all(isinstance(d, int) and not isinstance(d, bool) for d in lead_days):
        return [_("Enter whole numbers of days.")]
    if len(lead_days) > MAX_LEAD_DAYS:
        errors.append(_("Enter at most %(max)s lead days.") % {"max": MAX_LEAD_DAYS})
    if any(d <= 0 for d in lead_days):
        errors.append(_("Each lead day must be at least 1."))
    if any(d > MAX_LEAD_DAY for d in lead_days):
        errors.append(_("Each lead day must be at most %(max)s.") % {"max": MAX_LEAD_DAY})
    if len(set(lead_days)) != len(lead_days):
        errors.append(_("Each lead day may appear only once."))
    return errors


@transaction.atomic
def renewal_policy_update(*, tenant: Tenant, actor: Staff, lead_days: list[int]) -> RenewalPolicy:
    """Set the tenant's reminder lead days (administrators): 1 to 5 distinct whole numbers of
    days between 1 and 365, stored largest first. Refusals keyed "lead_days". The row is
    created on the first save (concurrent first saves: one insert, the other updates it)."""
    with tenant_context(tenant):
        if not actor.is_admin:
            raise PermissionDenied(_("Only administrators may change the renewal policy."))
        errors = lead_days_errors(lead_days)
        if errors:
            raise ValidationError({"lead_days": errors})
        lead_days = sorted(lead_days, reverse=True)
        # Forget the cached lead days now (reads later in this transaction) and again once
        # it commits (a reader in between may have cached the old ones).
        key = selectors.lead_days_cache_key(tenant.pk)
        cache.delete(key)
        transaction.on_commit(lambda: cache.delete(key))
        policy = RenewalPolicy.objects.select_for_update().first()
        if policy is None:
            try:
                with transaction.atomic():  # a savepoint: a concurrent first save may win
                    policy = RenewalPolicy.objects.create(tenant=tenant, lead_days=lead_days,
                                                          updated_by=actor)
            except IntegrityError:
                policy = RenewalPolicy.objects.select_for_update().get()
            else:
                audit_record(tenant=tenant, actor=actor, action="renewals.policy", target=policy,
                             changes={"lead_days": [selectors.default_lead_days(), lead_days]})
                return policy
        before = list(policy.lead_days)
        if before != lead_days:
            policy.lead_days = lead_days
            policy.updated_by = actor
            policy.save(update_fields=["lead_days", "updated_by", "updated_at"])
            audit_record(tenant=tenant, actor=actor, action="renewals.policy", target=policy,
                         changes={"lead_days": [before, lead_days]})
        return policy


# --------------------------------------------------------------------------- reminders

# One statement: the due (contract, lead day) pairs, inserted unless already logged; RETURNING
# gives only the rows this run inserted. A second run (or a second worker at the same moment:
# its INSERT waits for the first one's rows on the unique key, then skips them) inserts
# nothing. The pairs are inserted in one order, so two runs never deadlock.
REMINDERS_SQL = """
INSERT INTO renewals_renewalreminder (tenant_id, contract_id, lead_days, sent_at)
SELECT c.tenant_id, c.id, w.lead, %(now)s
  FROM deals_contract c
  JOIN unnest(%(leads)s::int[], %(lows)s::int[]) AS w(lead, low)
    ON c."end" BETWEEN %(today)s::date + w.low AND %(today)s::date + w.lead
 WHERE c.tenant_id = %(tenant)s AND c.renewed_by_id IS NULL
 ORDER BY c.id, w.lead
ON CONFLICT (tenant_id, contract_id, lead_days) DO NOTHING
RETURNING contract_id, lead_days
"""

REMINDER_TITLE = ngettext_lazy(
    "Contract %(number)s of %(customer)s ends in %(days)s day",
    "Contract %(number)s of %(customer)s ends in %(days)s days", "days")
REMINDER_TITLE_TODAY = gettext_lazy("Contract %(number)s of %(customer)s ends today")
REMINDER_BODY = gettext_lazy(
    "The term ends on %(end)s and has not been renewed yet. Contact the customer about "
    "renewing it.")


@transaction.atomic
def renewal_reminders_send(*, tenant: Tenant | int, today: dt.date | None = None) -> int:
    """The daily renewal reminders of one tenant. Returns how many reminders were sent.

    For each lead day L of the renewal policy (default 30 and 7), a contract not renewed whose
    end is L days from today (tenant time zone) gets its L reminder: one RenewalReminder row
    (contract, L) and an in-app notification (kind "other", linking to the contract) to its
    owner and the active managers of its team.

    Catch-up: the L reminder is due while the days left are between L and the next smaller
    lead day (exclusive; 0 for the smallest), so a run that missed the exact day sends it on
    the next run; once the next smaller lead day is reached, the more urgent reminder
    replaces it (a contract entered 5 days before its end gets the 7-day reminder, not both).
    Contracts already ended get none.

    Once per contract and lead day: the insert is set-based (INSERT … SELECT … ON CONFLICT DO
    NOTHING on the unique key, RETURNING the inserted rows) and only those rows notify, so a
    second run, or two workers at the same moment, send nothing more. `tenant` may be an id."""
    if not isinstance(tenant, Tenant):
        tenant = Tenant.objects.get(pk=tenant)
    with tenant_context(tenant):
        today = today or tenant_today(tenant)
        windows = selectors.reminder_windows(selectors.lead_days_for(tenant))
        with connection.cursor() as cur:
            cur.execute(REMINDERS_SQL, {
                "now": timezone.now(), "tenant": tenant.pk, "today": today,
                "leads": [lead for lead, _low in windows], "lows": [low for _lead, low in windows]})
            sent = cur.fetchall()
        if sent:
            _notify_reminders(tenant, sent, today)
        return len(sent)


def _notify_reminders(tenant: Tenant, sent: list[tuple[int, int]], today: dt.date) -> None:
    """One notification per reminder sent, to the contract's owner and its team's managers
    (active staff only). Three reads, then one insert per reminder."""
    contracts = {c.pk: c for c in Contract.objects.filter(pk__in={pk for pk, _lead in sent})
                 .select_related("customer", "owner__user")}
    team_ids = {c.team_id for c in contracts.values() if c.team_id is not None}
    managers: dict[int, list[Staff]] = defaultdict(list)
    for staff in (Staff.objects.filter(team_id__in=team_ids, active=True,
                                       roles__contains=[Role.MANAGER])
                  .select_related("user").order_by("pk")):
        managers[staff.team_id].append(staff)
    for contract_id, _lead in sorted(sent):
        contract = contracts[contract_id]
        owner = contract.owner if contract.owner is not None and contract.owner.active else None
        days = (contract.end - today).days
        params = {"number": contract.number, "customer": contract.customer.name, "days": days}
        title = (lazy_format(REMINDER_TITLE_TODAY, params) if days == 0
                 else lazy_format(REMINDER_TITLE, params))
        notify(tenant=tenant, recipients=[owner, *managers.get(contract.team_id, [])],
               kind=REMINDER_KIND, title=title,
               body=lazy_format(REMINDER_BODY, {"end": contract.end.isoformat()}),
               url=reverse("renewals:contract_detail", args=[contract.pk]), target=contract)
