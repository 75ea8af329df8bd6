"""Membership cards (金会员卡): who gets a card, issuing, loss and reissue, voiding a card issued by
mistake, the suggested next number, and the monthly card statistics (with an .xlsx export).

Reads (pages and API share them):

* `visible_cards(staff)` — customer service, administrators and finance: every card of the
  tenant; managers and sales: the cards of the customers they see
  (apps.customers.selectors.visible_customers: a manager's team, a salesperson's own).
* `card_list(staff, filters)` — status, kind, tier, team, search (card number prefix, customer
  name, mobile number or its last four digits), newest first.
* `cards_to_issue(staff, ...)` (发卡) — buyers with a tier (CustomerTier) and no active card of
  that tier: no active card at all (a first card is due) or an active card of another tier (a
  tier change: the new tier's card is due), oldest first (in the tier since).
* `card_stats(tenant, month)` — per team of the card (the customer's team at issue; a "no
  team" row when needed) for a month of the tenant's calendar: first cards, upgrade cards,
  reissues (by `issued_on`), and the tier upgrades of the month (TierChange kind upgrade, by
  the tenant's local day); two aggregate queries and a totals row. `card_stats_xlsx` writes it.

Writes (one transaction each, in the tenant, with an audit row; refusals are ValidationError
with field errors or PermissionDenied):

* `card_issue` — customer service and administrators. The number is trimmed and upper-cased,
  1–30 letters, digits or "-", unique in the tenant (checked, and the database constraint is
  caught under concurrency). The customer must have a tier. An active card of the same tier is
  refused; an active card of another tier is voided (reason "upgraded") and the new card is of
  kind "upgrade" and `replaces` it; otherwise the card is the customer's "first". The
  customer's tier row and active card are locked, so two issues at once give one card.
* `card_reissue` — a lost ACTIVE card: voided (reason "lost", the note kept) and replaced by a
  card of kind "reissue" with a new number and the customer's current tier. A void card is
  refused.
* `card_void` — administrators only, with a note: an active card issued by mistake (reason
  "other"); the customer is then due a card again.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Length
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from openpyxl import Workbook

from apps.core.audit import audit_record
from apps.core.identity import normalize_phone
from apps.core.xlsx import INTEGER, Column, XlsxSheet
from apps.customers.models import Customer
from apps.customers.selectors import visible_customers
from apps.ownership.selectors import local_midnight, tenant_today
from apps.tenancy.context import in_tenant, tenant_context
from apps.tenancy.models import Staff, Team, Tenant
from apps.tenancy.roles import Role

from .models import CustomerTier, TierChange, VipCard
from .services import scheme_for

#: Who hands out cards and handles losses.
ISSUE_ROLES = (Role.ADMIN, Role.CUSTOMER_SERVICE)
#: Who voids a card issued by mistake.
VOID_ROLES = (Role.ADMIN,)
#: Who sees every card of the tenant (managers and sales: their customers' cards).
READ_ALL_ROLES = (Role.ADMIN, Role.CUSTOMER_SERVICE, Role.FINANCE)
#: Who opens the card pages at all.
VIEW_ROLES = (Role.ADMIN, Role.CUSTOMER_SERVICE, Role.FINANCE, Role.MANAGER, Role.SALES)
#: Who reads the monthly statistics (managers: their team's row).
STATS_ROLES = (Role.ADMIN, Role.CUSTOMER_SERVICE, Role.FINANCE, Role.MANAGER)

NUMBER_MAX = 30
NOTE_MAX = 200
NUMBER_RE = re.compile(r"^[A-Z0-9-]+$")
#: Suggested numbers: VIP000001, VIP000002, … (after the highest number of that form).
SUGGEST_PREFIX = "VIP"
SUGGEST_DIGITS = 6


# --------------------------------------------------------------------------- who may do what


def sees_all_cards(staff: Staff | None) -> bool:
    return staff is not None and staff.has_role(*READ_ALL_ROLES)


def may_issue(staff: Staff | None) -> bool:
    return staff is not None and staff.has_role(*ISSUE_ROLES)


def may_void(staff: Staff | None) -> bool:
    return staff is not None and staff.has_role(*VOID_ROLES)


def stats_team(staff: Staff) -> Team | int | None:
    """The team a stats reader is limited to: None for the tenant-wide roles, the team of a
    manager (0 for a manager without a team: nothing)."""
    if staff.has_role(*READ_ALL_ROLES):
        return None
    return staff.team_id or 0


def _require(actor: Staff | None, roles: tuple, message: str) -> None:
    if actor is None or not actor.has_role(*roles):
        raise PermissionDenied(message)


# --------------------------------------------------------------------------- reads


def tier_names(tenant: Tenant) -> dict[str, str]:
    """{tier code: name} of the scheme in force (a code no longer in it shows as itself)."""
    return scheme_for(tenant)[1].names()


def tier_choices(tenant: Tenant) -> list[tuple[str, str]]:
    return list(tier_names(tenant).items())


def visible_cards(staff: Staff, queryset: QuerySet | None = None) -> QuerySet:
    """The cards `staff` may see (see the module docstring), in the tenant in context."""
    queryset = VipCard.objects.all() if queryset is None else queryset
    if sees_all_cards(staff):
        return queryset
    return queryset.filter(customer__in=visible_customers(staff).values("pk"))


def _customer_search_q(term: str, prefix: str = "customer__") -> Q:
    """As apps.customers.selectors.search_customers, on a related customer: four digits: the
    last four of the mobile number; a valid mobile number: that number; else part of the
    name."""
    if len(term) == 4 and term.isdigit():
        return Q(**{f"{prefix}phone_last4": term})
    try:
        return Q(**{f"{prefix}phone": normalize_phone(term)})
    except ValidationError:
        return Q(**{f"{prefix}name__icontains": term})


def _team_id(team) -> int | None:
    return getattr(team, "pk", team) or None


def card_list(staff: Staff, filters: dict | None = None,
              queryset: QuerySet | None = None) -> QuerySet:
    """The cards `staff` sees, narrowed by the cleaned filters (status, kind, tier, team — a
    Team or an id —, search), newest first, with the customer, team and issuer selected."""
    filters = filters or {}
    cards = visible_cards(staff, queryset)
    if filters.get("status"):
        cards = cards.filter(status=filters["status"])
    if filters.get("kind"):
        cards = cards.filter(kind=filters["kind"])
    if filters.get("tier"):
        cards = cards.filter(tier=filters["tier"])
    team_id = _team_id(filters.get("team"))
    if team_id:
        cards = cards.filter(team_id=team_id)
    term = (filters.get("search") or "").strip()
    if term:
        cards = cards.filter(Q(number__startswith=term.upper()) | _customer_search_q(term))
    return (cards.select_related("customer", "team", "issued_by", "voided_by")
            .order_by("-issued_on", "-id"))


def _active_cards():
    return VipCard.objects.filter(customer_id=OuterRef("customer_id"),
                                  status=VipCard.Status.ACTIVE).order_by()


def cards_to_issue(staff: Staff, *, team=None, tier: str = "", search: str = "") -> QuerySet:
    """发卡: the CustomerTier rows of the customers `staff` sees that have no active card of
    their tier, oldest first (in the tier since), each with `card_number` / `card_tier` of the
    active card it replaces (None for a first card). Filter by team (a Team or an id, the
    customer's team), tier code, and a search of the customer (name, mobile, last four)."""
    rows = CustomerTier.objects.filter(~Exists(_active_cards().filter(tier=OuterRef("tier"))))
    if not sees_all_cards(staff):
        rows = rows.filter(customer__in=visible_customers(staff).values("pk"))
    team_id = _team_id(team)
    if team_id:
        rows = rows.filter(customer__team_id=team_id)
    if tier:
        rows = rows.filter(tier=tier)
    term = (search or "").strip()
    if term:
        rows = rows.filter(_customer_search_q(term))
    active = _active_cards()
    return (rows.annotate(card_id=Subquery(active.values("pk")[:1]),
                          card_number=Subquery(active.values("number")[:1]),
                          card_tier=Subquery(active.values("tier")[:1]))
            .select_related("customer", "customer__team", "customer__owner")
            .order_by("since", "id"))


def card_chain(card: VipCard) -> list[VipCard]:
    """Every card of `card`'s customer, oldest first (one query): the history the detail page
    shows, with `replaced_by` set on each card a later card replaces."""
    cards = list(VipCard.objects.filter(customer_id=card.customer_id)
                 .select_related("issued_by", "voided_by").order_by("issued_on", "id"))
    by_id = {c.pk: c for c in cards}
    for c in cards:
        c.replaced_by = None
    for c in cards:
        if c.replaces_id in by_id:
            by_id[c.replaces_id].replaced_by = c
    return cards


def next_card_number(tenant: Tenant) -> str:
    """A suggestion for the next card: VIP + the 6-digit (or longer) sequence after the highest
    number of that form in the tenant (VIP000001 for the first). The user may type another."""
    with in_tenant(tenant):
        last = (VipCard.objects.filter(number__regex=rf"^{SUGGEST_PREFIX}[0-9]+$")
                .order_by(Length("number").desc(), "-number")
                .values_list("number", flat=True).first())
    sequence = int(last[len(SUGGEST_PREFIX):]) + 1 if last else 1
    return f"{SUGGEST_PREFIX}{sequence:0{SUGGEST_DIGITS}d}"[:NUMBER_MAX]


# --------------------------------------------------------------------------- writes


def clean_number(number: str | None, errors: dict) -> str:
    """The card number as stored (trimmed, upper-case); a field error on `errors` if bad."""
    number = (number or "").strip().upper()
    if not number:
        errors["number"] = [_("Enter the card number.")]
    elif len(number) > NUMBER_MAX:
        errors["number"] = [_("A card number has at most %(max)s characters.") % {
            "max": NUMBER_MAX}]
    elif not NUMBER_RE.match(number):
        errors["number"] = [_("A card number holds only letters, digits and “-”.")]
    return number


def _clean_note(note: str | None, errors: dict, *, required: bool = False) -> str:
    note = (note or "").strip()
    if required and not note:
        errors["note"] = [_("Say why: it is kept with the card.")]
    elif len(note) > NOTE_MAX:
        errors["note"] = [_("At most %(max)s characters.") % {"max": NOTE_MAX}]
    return note


def _number_used(number: str) -> str:
    return _("The card number %(number)s is already used in your company.") % {"number": number}


def _check_number_free(number: str, errors: dict) -> None:
    if "number" not in errors and VipCard.objects.filter(number=number).exists():
        errors["number"] = [_number_used(number)]


def _insert(card: VipCard) -> VipCard:
    """Save a new card; the database constraints decide races the checks could not see (two
    issues with one number, or two cards for one customer, at the same moment)."""
    try:
        with transaction.atomic():
            card.save(force_insert=True)
    except IntegrityError as exc:
        constraint = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", "") or ""
        if "vip_card_number_unique" in constraint or "vip_card_number_unique" in str(exc):
            raise ValidationError({"number": [_number_used(card.number)]}) from None
        if "vip_card_one_active" in constraint or "vip_card_one_active" in str(exc):
            raise ValidationError({"customer": [_(
                "Another card was just issued to this customer; reload the page.")]}) from None
        raise
    return card


def _void(card: VipCard, *, reason: str, actor: Staff | None, note: str, now) -> None:
    card.status = VipCard.Status.VOID
    card.void_reason, card.void_note = reason, note[:NOTE_MAX]
    card.voided_at, card.voided_by = now, actor
    card.save(update_fields=["status", "void_reason", "void_note", "voided_at", "voided_by"])


@transaction.atomic
def card_issue(*, tenant: Tenant, actor: Staff, customer: Customer, number: str,
               issued_on: dt.date | None = None, note: str = "") -> VipCard:
    """Issue the card of the customer's current tier (see the module docstring)."""
    with tenant_context(tenant):
        _require(actor, ISSUE_ROLES, _("Only customer service and administrators issue cards."))
        errors: dict = {}
        number = clean_number(number, errors)
        note = _clean_note(note, errors)
        today = tenant_today(tenant)
        issued_on = issued_on or today
        if issued_on > today:
            errors["issued_on"] = [_("A card cannot be issued in the future.")]
        # The tier row first (every issue and reissue of this customer locks it first: they
        # wait for each other), then the active card.
        row = CustomerTier.objects.select_for_update().filter(customer=customer).first()
        active = None
        if row is None:
            errors["customer"] = [_("This customer has no tier: cards are for customers who "
                                    "have bought.")]
        else:
            active = (VipCard.objects.select_for_update()
                      .filter(customer=customer, status=VipCard.Status.ACTIVE).first())
            if active is not None and active.tier == row.tier:
                errors["customer"] = [_("This customer already has the active card %(number)s "
                                        "of this tier.") % {"number": active.number}]
        _check_number_free(number, errors)
        if errors:
            raise ValidationError(errors)
        now = timezone.now()
        if active is not None:
            _void(active, reason=VipCard.VoidReason.UPGRADED, actor=actor, note="", now=now)
        card = _insert(VipCard(
            tenant=tenant, number=number, customer=customer, tier=row.tier,
            kind=VipCard.Kind.UPGRADE if active is not None else VipCard.Kind.FIRST,
            team_id=customer.team_id, issued_on=issued_on, issued_by=actor, replaces=active))
        audit_record(tenant=tenant, actor=actor, action="vip.card.issue", target=card,
                     changes={"number": number, "customer": customer.pk, "tier": card.tier,
                              "kind": card.kind, "issued_on": issued_on,
                              "replaces": active.number if active is not None else None},
                     reason=note)
        return card


def _already_void(card: VipCard) -> str:
    return _("The card %(number)s is already void (%(reason)s): only an active card can be "
             "reported lost or voided.") % {"number": card.number,
                                              "reason": card.get_void_reason_display() or "—"}


def _lock_for_change(card: VipCard) -> tuple[CustomerTier | None, VipCard]:
    """The customer's tier row and the card, locked in the order card_issue uses."""
    row = CustomerTier.objects.select_for_update().filter(customer_id=card.customer_id).first()
    return row, VipCard.objects.select_for_update().select_related("customer").get(pk=card.pk)


@transaction.atomic
def card_reissue(*, tenant: Tenant, actor: Staff, card: VipCard, number: str,
                 note: str = "") -> VipCard:
    """A lost card: void it (reason lost) and issue a replacement with a new number and the
    customer's current tier."""
    with tenant_context(tenant):
        _require(actor, ISSUE_ROLES, _("Only customer service and administrators reissue "
                                       "cards."))
        errors: dict = {}
        number = clean_number(number, errors)
        note = _clean_note(note, errors)
        row, old = _lock_for_change(card)
        if old.status != VipCard.Status.ACTIVE:
            errors["__all__"] = [_already_void(old)]
        _check_number_free(number, errors)
        if errors:
            raise ValidationError(errors)
        now = timezone.now()
        _void(old, reason=VipCard.VoidReason.LOST, actor=actor, note=note, now=now)
        new = _insert(VipCard(
            tenant=tenant, number=number, customer_id=old.customer_id,
            tier=row.tier if row is not None else old.tier, kind=VipCard.Kind.REISSUE,
            team_id=old.customer.team_id, issued_on=tenant_today(tenant), issued_by=actor,
            replaces=old))
        audit_record(tenant=tenant, actor=actor, action="vip.card.reissue", target=new,
                     changes={"number": number, "replaces": old.number, "tier": new.tier,
                              "customer": old.customer_id}, reason=note)
        audit_record(tenant=tenant, actor=actor, action="vip.card.void", target=old,
                     changes={"status": [VipCard.Status.ACTIVE, VipCard.Status.VOID],
                              "void_reason": VipCard.VoidReason.LOST, "replaced_by": number},
                     reason=note)
        return new


@transaction.atomic
def card_void(*, tenant: Tenant, actor: Staff, card: VipCard, note: str) -> VipCard:
    """Void an active card issued by mistake (administrators, with a note); no replacement."""
    with tenant_context(tenant):
        _require(actor, VOID_ROLES, _("Only administrators void a card."))
        errors: dict = {}
        note = _clean_note(note, errors, required=True)
        _row, old = _lock_for_change(card)
        if old.status != VipCard.Status.ACTIVE:
            errors["__all__"] = [_already_void(old)]
        if errors:
            raise ValidationError(errors)
        _void(old, reason=VipCard.VoidReason.OTHER, actor=actor, note=note, now=timezone.now())
        audit_record(tenant=tenant, actor=actor, action="vip.card.void", target=old,
                     changes={"status": [VipCard.Status.ACTIVE, VipCard.Status.VOID],
                              "void_reason": VipCard.VoidReason.OTHER}, reason=note)
        return old


# --------------------------------------------------------------------------- statistics


@dataclass
class StatRow:
    team_id: int | None
    team_name: str
    issued: int = 0        # first cards
    upgraded: int = 0      # cards of kind upgrade
    reissued: int = 0      # cards of kind reissue
    tier_upgrades: int = 0  # TierChange rows of kind upgrade

    @property
    def cards(self) -> int:
        return self.issued + self.upgraded + self.reissued


@dataclass
class CardStats:
    month: dt.date
    rows: list[StatRow] = field(default_factory=list)
    totals: StatRow = field(default_factory=lambda: StatRow(None, ""))


def month_bounds(month: dt.date) -> tuple[dt.date, dt.date]:
    """The first day of `month`'s month and of the next."""
    start = month.replace(day=1)
    index = start.year * 12 + start.month  # the next month, 0-based
    return start, dt.date(index // 12, index % 12 + 1, 1)


def card_stats(tenant: Tenant, month: dt.date, *, team=None) -> CardStats:
    """The month's card statistics per team (see the module docstring). `team` (a Team or an
    id; 0 for none at all) narrows them to one team (a manager's)."""
    start, end = month_bounds(month)
    team_id = _team_id(team)
    with in_tenant(tenant):
        cards = VipCard.objects.filter(issued_on__gte=start, issued_on__lt=end)
        changes = TierChange.objects.filter(
            kind=TierChange.Kind.UPGRADE, created_at__gte=local_midnight(tenant, start),
            created_at__lt=local_midnight(tenant, end))
        teams = Team.objects.all()
        if team is not None:  # one team (a manager without a team: none)
            cards = cards.filter(team_id=team_id) if team_id else cards.none()
            changes = changes.filter(team_id=team_id) if team_id else changes.none()
            teams = teams.filter(pk=team_id) if team_id else teams.none()
        by_kind = {f"n_{kind}": Count("pk", filter=Q(kind=kind)) for kind in VipCard.Kind.values}
        card_counts = {r["team_id"]: r for r in cards.values("team_id").annotate(**by_kind)
                       .order_by()}
        upgrades = dict(changes.values("team_id").annotate(n=Count("pk"))
                        .order_by().values_list("team_id", "n"))
        team_rows = list(teams.order_by("name", "id").values_list("pk", "name", "active"))
    rows = []
    for pk, name, active in team_rows:
        if active or pk in card_counts or pk in upgrades:
            rows.append(StatRow(pk, name))
    if team is None and (None in card_counts or None in upgrades):
        rows.append(StatRow(None, _("No team")))
    totals = StatRow(None, _("Total"))
    for row in rows:
        counts = card_counts.get(row.team_id, {})
        row.issued = counts.get(f"n_{VipCard.Kind.FIRST}", 0)
        row.upgraded = counts.get(f"n_{VipCard.Kind.UPGRADE}", 0)
        row.reissued = counts.get(f"n_{VipCard.Kind.REISSUE}", 0)
        row.tier_upgrades = upgrades.get(row.team_id, 0)
        totals.issued += row.issued
        totals.upgraded += row.upgraded
        totals.reissued += row.reissued
        totals.tier_upgrades += row.tier_upgrades
    return CardStats(month=start, rows=rows, totals=totals)


def stats_columns() -> list[Column]:
    return [Column(_("Team"), 16), Column(_("First cards issued"), 12, INTEGER),
            Column(_("Upgrade cards"), 12, INTEGER), Column(_("Reissued (lost)"), 12, INTEGER),
            Column(_("Cards in all"), 12, INTEGER), Column(_("Tier upgrades"), 12, INTEGER)]


def stats_filename(month: dt.date) -> str:
    """会员卡统计-2026-10.xlsx (in the site language)."""
    with translation.override(settings.LANGUAGE_CODE):
        return _("Membership-cards-%(month)s.xlsx") % {"month": f"{month:%Y-%m}"}


def stats_ascii_filename(month: dt.date) -> str:
    return f"vip-cards-{month:%Y-%m}.xlsx"


def card_stats_xlsx(tenant: Tenant, month: dt.date, target, *, team=None) -> CardStats:
    """Write the month's statistics to `target` (a path or a binary file): Chinese headers
    (the site language), one row per team, a totals row, counts as numbers."""
    with translation.override(settings.LANGUAGE_CODE):
        stats = card_stats(tenant, month, team=team)
        book = Workbook(write_only=True)
        sheet = XlsxSheet(book, _("Cards %(month)s") % {"month": f"{stats.month:%Y-%m}"},
                          stats_columns())
        for row in stats.rows:
            sheet.append([row.team_name, row.issued, row.upgraded, row.reissued, row.cards,
                          row.tier_upgrades])
        t = stats.totals
        sheet.append_total([_("Total"), t.issued, t.upgraded, t.reissued, t.cards,
                            t.tier_upgrades])
        book.save(target)
    return stats
