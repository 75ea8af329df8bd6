"""The honour board (荣誉展板 / 激励榜单): monthly and quarterly rankings of referrers, and the
monthly top three staff recorded as `HonourAward` rows (flagged for the ranking bonus the
commission issue pays).

* A **successful referral** is one whose status is in `Referral.SUCCESS_STATUSES` (converted,
  reward_pending, approved, paid); it counts in the period of its `converted_at`, taken in the
  tenant's time zone (a conversion at 23:30 Beijing time on 31 October counts in October).
  A referral rejected or reversed later drops out of every ranking.
* The board ranks customer and staff referrers (the issue's "customers and staff"); outside
  partners are paid by their agreement and are not on the board.
* **Order**: most successes first; a tie goes to whoever reached that count first (the earlier
  last conversion of the period), then the lower referrer id. Ranks are positions 1, 2, 3, …
  (never shared), so the top three are always three people.
* **One aggregate query** over the partial index `referral_success_idx` (tenant,
  converted_at, referrer) WHERE status IN success: GROUP BY referrer, ORDER BY the tie rule,
  LIMIT n; then one query for the names of those n referrers.
* **Names**: administrators, managers, customer service and finance see full names (they see
  every referrer elsewhere); salespeople see staff names and masked customer names (张*); the
  public page shows masked names only.
* **Awards** (`honour_awards_record`): only for a month that has ended (tenant time zone);
  under a per-tenant advisory lock, the first run stores the top three staff referrers of the
  month, audits each row and notifies the awarded staff and the managers; any later run (or a
  concurrent one) finds the rows and stores nothing. Recorded awards are final: a referral of
  that month reversed afterwards does not move them.
"""

from __future__ import annotations

import datetime as dt
from contextlib import nullcontext
from dataclasses import dataclass, field

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Max
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.core.audit import audit_record
from apps.core.i18n import lazy_format
from apps.core.identity import mask_name
from apps.core.versioning import advisory_lock
from apps.notifications.models import Notification
from apps.notifications.services import notify
from apps.ownership.selectors import local_midnight, tenant_today
from apps.tenancy.context import current_tenant_id, tenant_context
from apps.tenancy.models import Staff, Tenant
from apps.tenancy.roles import Role

from .models import HonourAward, Referral, Referrer
from .referrers import referrer_name
from .reward_policies import reward_policy_for

MONTH, QUARTER = "month", "quarter"
PERIODS = (MONTH, QUARTER)
ALL, STAFF, CUSTOMER = "all", "staff", "customer"
AUDIENCES = (ALL, STAFF, CUSTOMER)
#: The referrer kinds each audience ranks (partners are never on the board).
AUDIENCE_KINDS = {ALL: (Referrer.Kind.CUSTOMER, Referrer.Kind.STAFF),
                  STAFF: (Referrer.Kind.STAFF,), CUSTOMER: (Referrer.Kind.CUSTOMER,)}
TOP = 20
AWARD_PLACES = 3
LOCK_HONOUR_AWARDS = 5003

#: Who reads the board (page and API); who sees customer referrers' full names; who records.
VIEW_ROLES = (Role.ADMIN, Role.MANAGER, Role.SALES, Role.CUSTOMER_SERVICE, Role.FINANCE)
FULL_NAME_ROLES = (Role.ADMIN, Role.MANAGER, Role.CUSTOMER_SERVICE, Role.FINANCE)
RECORD_ROLES = (Role.ADMIN, Role.MANAGER)


# ----------------------------------------------------------------------------- periods

def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    """A month or a quarter: its first day and the first day after it (tenant-local days), and
    the aware instants they start at."""

    kind: str
    first: dt.date
    after: dt.date
    since: dt.datetime
    until: dt.datetime

    @property
    def months(self) -> int:
        return 1 if self.kind == MONTH else 3

    @property
    def label(self) -> str:
        if self.kind == MONTH:
            return _("%(year)s-%(month)s") % {"year": self.first.year,
                                                "month": f"{self.first.month:02d}"}
        return _("Q%(quarter)s %(year)s") % {"quarter": (self.first.month - 1) // 3 + 1,
                                              "year": self.first.year}

    @property
    def month_starts(self) -> list[dt.date]:
        return [_add_months(self.first, i) for i in range(self.months)]

    @property
    def previous_start(self) -> dt.date:
        return _add_months(self.first, -self.months)

    @property
    def next_start(self) -> dt.date:
        return self.after

    def contains(self, day: dt.date) -> bool:
        return self.first <= day < self.after


def period_bounds(tenant: Tenant, period: str, start: dt.date) -> Period:
    """The month or quarter containing the day `start` (any day of it), in the tenant's time
    zone: [since, until) for `converted_at`."""
    if period not in PERIODS:
        raise ValueError(f"unknown period {period!r}")
    if period == MONTH:
        first = start.replace(day=1)
    else:
        first = dt.date(start.year, (start.month - 1) // 3 * 3 + 1, 1)
    after = _add_months(first, 1 if period == MONTH else 3)
    return Period(kind=period, first=first, after=after, since=local_midnight(tenant, first),
                  until=local_midnight(tenant, after))


def current_period(tenant: Tenant, period: str = MONTH, today: dt.date | None = None) -> Period:
    return period_bounds(tenant, period, today or tenant_today(tenant))


def last_month(tenant: Tenant, today: dt.date | None = None) -> dt.date:
    """The first day of the month before the tenant's current month."""
    return _add_months((today or tenant_today(tenant)).replace(day=1), -1)


# ----------------------------------------------------------------------------- the ranking

@dataclass
class BoardRow:
    rank: int
    referrer: Referrer
    kind: str
    name: str          # the full name
    masked_name: str   # 张*
    successes: int
    last_at: dt.datetime  # the last conversion of the period (the tie rule)

    @property
    def referrer_id(self) -> int:
        return self.referrer.pk


def _in_tenant(tenant: Tenant):
    """The tenant's context (nothing to enter when inside it already)."""
    return nullcontext() if current_tenant_id() == tenant.pk else tenant_context(tenant)


def successes_query(period: Period, audience: str = ALL):
    """The aggregate: (referrer_id, successes, last_at) in board order (call in the tenant's
    context; slice it for the top n)."""
    if audience not in AUDIENCES:
        raise ValueError(f"unknown audience {audience!r}")
    # The kinds left out are a small set (partners; plus customers on the staff tab or staff on
    # the customer tab): `NOT IN (hashed subplan)` of them costs next to nothing, where a join
    # with every referrer of the tenant before grouping would cost more than the index scan.
    if audience == STAFF:  # staff are few: keep them rather than exclude every customer
        rows = Referral.objects.filter(
            referrer_id__in=Referrer.objects.filter(kind=Referrer.Kind.STAFF).values("pk"))
    else:
        rows = Referral.objects.exclude(referrer_id__in=Referrer.objects.exclude(
            kind__in=AUDIENCE_KINDS[audience]).values("pk"))
    return (rows
            .filter(status__in=Referral.SUCCESS_STATUSES, converted_at__gte=period.since,
                    converted_at__lt=period.until)
            .values("referrer_id")
            .annotate(successes=Count("*"), last_at=Max("converted_at"))
            .order_by("-successes", "last_at", "referrer_id"))


def leaderboard(tenant: Tenant, *, period: str = MONTH, start: dt.date | None = None,
                audience: str = ALL, limit: int = TOP) -> list[BoardRow]:
    """The top `limit` referrers of the month or quarter containing `start` (default: the
    current one): two queries (the aggregate, then the names of those referrers)."""
    bounds = period_bounds(tenant, period, start or tenant_today(tenant))
    with _in_tenant(tenant):
        counted = list(successes_query(bounds, audience)[:limit])
        referrers = (Referrer.objects.select_related("customer", "staff")
                     .in_bulk([row["referrer_id"] for row in counted]))
    rows = []
    for rank, row in enumerate(counted, start=1):
        referrer = referrers[row["referrer_id"]]
        name = referrer_name(referrer)
        rows.append(BoardRow(rank=rank, referrer=referrer, kind=referrer.kind, name=name,
                             masked_name=mask_name(name), successes=row["successes"],
                             last_at=row["last_at"]))
    return rows


def sees_full_names(staff: Staff | None) -> bool:
    return staff is not None and staff.has_role(*FULL_NAME_ROLES)


def shown_name(row: BoardRow, staff: Staff | None) -> str:
    """The name `staff` may see: salespeople get customers' names masked; None (the public)
    gets every name masked."""
    if sees_full_names(staff) or (staff is not None and row.kind == Referrer.Kind.STAFF):
        return row.name
    return row.masked_name


# ----------------------------------------------------------------------------- awards

def awards_of(months: list[dt.date]) -> list[HonourAward]:
    """The recorded awards of these months (first days), by month then rank (call in the
    tenant's context)."""
    return list(HonourAward.objects.filter(month__in=months).select_related("staff")
                .order_by("month", "rank"))


def award_month_open(tenant: Tenant, month: dt.date, today: dt.date | None = None) -> bool:
    """True while `month` has not ended (the current or a future month)."""
    return _add_months(month.replace(day=1), 1) > (today or tenant_today(tenant))


@dataclass
class AwardsResult:
    month: dt.date
    awards: list[HonourAward] = field(default_factory=list)
    created: bool = False


def board_url(period: str, start: dt.date) -> str:
    return f"{reverse('referrals:board')}?period={period}&start={start.isoformat()}"


@transaction.atomic
def honour_awards_record(*, tenant: Tenant, month: dt.date, actor: Staff | None = None,
                         today: dt.date | None = None) -> AwardsResult:
    """Record the top three staff referrers of `month` (any day of it; it must have ended in
    the tenant's time zone) as HonourAward rows, rank 1–3 in board order (only staff with at
    least one success: fewer rows when fewer had one). Managers and administrators, or the
    system (actor None). Idempotent: if the month's awards exist, they are returned with
    `created` False and nothing is written; two runs at once are serialised by a per-tenant
    advisory lock (and the unique keys stand behind it). Each row is audited
    (`referral.honour_award`); the awarded staff and the managers are notified."""
    with tenant_context(tenant):
        if actor is not None and not actor.has_role(*RECORD_ROLES):
            raise PermissionDenied(_("Only managers and administrators record the honour "
                                     "awards."))
        first = month.replace(day=1)
        label = period_bounds(tenant, MONTH, first).label
        if award_month_open(tenant, first, today):
            raise ValidationError({"month": [
                _("%(month)s has not ended yet: awards are recorded once a month is over.")
                % {"month": label}]})
        advisory_lock(LOCK_HONOUR_AWARDS, tenant)
        existing = awards_of([first])
        if existing:
            return AwardsResult(month=first, awards=existing, created=False)
        rows = leaderboard(tenant, period=MONTH, start=first, audience=STAFF,
                           limit=AWARD_PLACES)
        awards = HonourAward.objects.bulk_create([
            HonourAward(tenant=tenant, month=first, rank=row.rank, staff=row.referrer.staff,
                        referrer=row.referrer, successes=row.successes)
            for row in rows if row.successes > 0])
        if not awards:
            return AwardsResult(month=first)
        url = board_url(MONTH, first)
        for award in awards:
            audit_record(tenant=tenant, actor=actor, action="referral.honour_award",
                         target=award, changes={"month": first, "rank": award.rank,
                                                "staff": award.staff_id,
                                                "referrer": award.referrer_id,
                                                "successes": award.successes})
            notify(tenant=tenant, recipients=[award.staff], kind=Notification.Kind.REFERRAL,
                   title=lazy_format(gettext_lazy(
                       "Honour board %(month)s: you are no. %(rank)s with %(count)s successful "
                       "referrals"), {"month": label, "rank": award.rank,
                                      "count": award.successes}),
                   url=url, target=award)
        managers = (Staff.objects.filter(active=True, roles__overlap=list(RECORD_ROLES))
                    .exclude(pk__in=[a.staff_id for a in awards]))  # told above already
        summary = ", ".join(f"{a.rank}. {a.staff.name} ({a.successes})" for a in awards)
        notify(tenant=tenant, recipients=managers, kind=Notification.Kind.REFERRAL,
               title=lazy_format(gettext_lazy("Honour awards of %(month)s recorded: %(top)s"),
                                 {"month": label, "top": summary}),
               url=url, target=awards[0], exclude=actor)
        return AwardsResult(month=first, awards=awards, created=True)


# ----------------------------------------------------------------------------- the public page

PUBLIC_TOP = 10
PUBLIC_CACHE_SECONDS = 60
SLUG_MAX = 50


def public_cache_key(slug: str) -> str:
    return f"referral:board:public:{slug}"


def _public_rows(rows: list[BoardRow]) -> list[dict]:
    return [{"rank": r.rank, "name": r.masked_name, "kind": r.kind, "successes": r.successes}
            for r in rows]


def _public_data(slug: str) -> dict | None:
    tenant = Tenant.objects.filter(slug=slug, active=True).first()
    if tenant is None:
        return None
    with tenant_context(tenant):
        if not reward_policy_for(tenant)[1].public_board:
            return None
        today = tenant_today(tenant)
        month = period_bounds(tenant, MONTH, today)
        quarter = period_bounds(tenant, QUARTER, today)
        previous = last_month(tenant, today)
        awards = awards_of([previous])
        return {
            "tenant_name": tenant.name,
            "month_label": month.label,
            "month_rows": _public_rows(leaderboard(tenant, period=MONTH, start=today,
                                                   limit=PUBLIC_TOP)),
            "quarter_label": quarter.label,
            "quarter_rows": _public_rows(leaderboard(tenant, period=QUARTER, start=today,
                                                     limit=PUBLIC_TOP)),
            "awards_label": period_bounds(tenant, MONTH, previous).label,
            "awards": [{"rank": a.rank, "name": mask_name(a.staff.name),
                        "successes": a.successes} for a in awards],
        }


def public_board(slug: str) -> dict | None:
    """What the public honour board of tenant `slug` shows (masked names only: this month's
    and this quarter's top ten, last month's awards), or None when there is no such active
    tenant or its reward policy in force has `public_board` off (the page answers 404). The
    answer, either way, is cached PUBLIC_CACHE_SECONDS per slug, so a flood of requests costs
    the database at most one build a minute per slug."""
    if not slug or len(slug) > SLUG_MAX:
        return None
    key = public_cache_key(slug)
    data = cache.get(key)
    if data is None:
        data = _public_data(slug) or {}
        cache.set(key, data, PUBLIC_CACHE_SECONDS)
    return data or None
