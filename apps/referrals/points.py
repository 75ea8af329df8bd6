"""Referrer points (积分): the append-only ledger, the items points buy, and redemptions with a
manager's approval. Services (writes) and selectors (reads) of the points pages and API.

* The ledger (PointsEntry) is append-only: rows are only ever inserted (earned > 0, redeemed < 0,
  expired < 0, adjusted ±); there is no service that updates or deletes one. A referrer's balance
  is the SUM of their rows (`points_balance`, one aggregate query).
* Every write that can lower a balance (adjustment, expiry, approval of a redemption) and every
  redemption request locks the referrer row (`SELECT … FOR UPDATE`) first, so two of them at once
  are serialised and a balance can never go below zero.
* A redemption is requested (the points are *held*: a new request must fit in the balance minus
  the points of the referrer's other pending requests), then approved — which writes the
  `redeemed` row in the same transaction — or rejected (nothing written to the ledger).

Roles: administrators and managers see every referrer, adjust, expire and decide; sales see (and
request for) the referrers who are their own customers or themselves; finance reads every ledger;
customer service has no access to points. Administrators manage the items.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q, QuerySet, Sum, Window
from django.db.models.functions import Coalesce, FirstValue
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.core.audit import audit_record, diff
from apps.core.i18n import lazy_format
from apps.notifications.models import Notification
from apps.notifications.services import notify
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Staff, Tenant
from apps.tenancy.roles import Role

from .models import PointsEntry, PointsItem, PointsRedemption, Referral, Referrer
from .referrers import referrer_name

#: Who may open the points pages / ledgers at all (sales only for the referrers they may see).
VIEW_ROLES = (Role.ADMIN, Role.MANAGER, Role.SALES, Role.FINANCE)
#: Who may see the managers' points overview (pending queue + recent ledger rows).
OVERVIEW_ROLES = (Role.ADMIN, Role.MANAGER, Role.FINANCE)
#: Who may request a redemption (for a referrer they may see).
REQUEST_ROLES = (Role.ADMIN, Role.MANAGER, Role.SALES)
#: Who may approve/reject redemptions, adjust and expire points.
DECIDE_ROLES = (Role.ADMIN, Role.MANAGER)

REASON_MAX = 200
NOTE_MAX = 200
ITEM_NAME_MAX = 100
POINTS_MAX = 10_000_000

NOTIFY_KIND = Notification.Kind.REFERRAL


# --------------------------------------------------------------------------- selectors

def points_visible_referrers(staff: Staff, queryset: QuerySet | None = None) -> QuerySet:
    """The referrers whose points `staff` may see (inside the tenant in context): administrators,
    managers and finance every referrer; sales the referrers who are customers they own or
    themselves; anyone else (customer service) none."""
    queryset = Referrer.objects.all() if queryset is None else queryset
    if staff.has_role(Role.ADMIN, Role.MANAGER, Role.FINANCE):
        return queryset
    if staff.has_role(Role.SALES):
        return queryset.filter(Q(kind=Referrer.Kind.CUSTOMER, customer__owner=staff)
                               | Q(kind=Referrer.Kind.STAFF, staff=staff))
    return queryset.none()


def points_balance(referrer: Referrer) -> int:
    """The referrer's balance: the sum of their ledger rows (one aggregate query)."""
    return PointsEntry.objects.filter(referrer_id=referrer.pk).aggregate(
        total=Coalesce(Sum("points"), 0))["total"]


def points_held(referrer: Referrer, *, exclude: PointsRedemption | None = None) -> int:
    """The points of the referrer's pending (requested) redemptions."""
    rows = PointsRedemption.objects.filter(referrer_id=referrer.pk,
                                           status=PointsRedemption.Status.REQUESTED)
    if exclude is not None:
        rows = rows.exclude(pk=exclude.pk)
    return rows.aggregate(total=Coalesce(Sum("points"), 0))["total"]


def points_available(referrer: Referrer) -> int:
    """What a new redemption request may use: the balance minus the held points."""
    return points_balance(referrer) - points_held(referrer)


def referrer_ledger(referrer: Referrer, *, kind: str = "") -> QuerySet:
    """The referrer's ledger rows, newest first, each with `running_balance` (the balance right
    after that row, over ALL the referrer's rows, whatever `kind` narrows the list to)."""
    rows = (PointsEntry.objects.filter(referrer_id=referrer.pk)
            .select_related("created_by", "redemption__item", "referral")
            .annotate(running_balance=Window(
                Sum("points"), order_by=[F("created_at").asc(), F("id").asc()]))
            .order_by("-created_at", "-id"))
    if kind:
        # Filtering on a window (QUALIFY-like outer query) keeps the sums over every row.
        rows = rows.annotate(row_kind=Window(FirstValue("kind"), partition_by=[F("id")])
                             ).filter(row_kind=kind)
    return rows


def recent_entries(*, kind: str = "", referrer: Referrer | None = None) -> QuerySet:
    """Ledger rows of the tenant, newest first (with the referrer's identity)."""
    rows = (PointsEntry.objects.select_related("referrer__customer", "referrer__staff",
                                               "created_by", "redemption__item")
            .order_by("-created_at", "-id"))
    if kind:
        rows = rows.filter(kind=kind)
    if referrer is not None:
        rows = rows.filter(referrer_id=referrer.pk)
    return rows


def redemptions(*, status: str = PointsRedemption.Status.REQUESTED,
                referrer: Referrer | None = None) -> QuerySet:
    """Redemptions (default: pending), oldest pending first; decided ones newest first."""
    rows = PointsRedemption.objects.select_related(
        "referrer__customer", "referrer__staff", "item", "requested_by", "decided_by")
    if status:
        rows = rows.filter(status=status)
    if referrer is not None:
        rows = rows.filter(referrer_id=referrer.pk)
    if status == PointsRedemption.Status.REQUESTED:
        return rows.order_by("requested_at", "id")
    return rows.order_by("-requested_at", "-id")


def points_items(*, active_only: bool = False) -> QuerySet:
    rows = PointsItem.objects.order_by("points", "id")
    return rows.filter(active=True) if active_only else rows


# --------------------------------------------------------------------------- helpers

def _lock_referrer(referrer: Referrer) -> Referrer:
    return Referrer.objects.select_for_update().get(pk=referrer.pk)


def _check_points(errors: dict, value, *, positive: bool) -> int | None:
    try:
        points = int(value)
    except (TypeError, ValueError):
        errors["points"] = [_("Enter a whole number of points.")]
        return None
    if isinstance(value, float) and value != points:
        errors["points"] = [_("Enter a whole number of points.")]
        return None
    if positive and points <= 0:
        errors["points"] = [_("Points must be more than zero.")]
    elif points == 0:
        errors["points"] = [_("Points cannot be zero.")]
    elif abs(points) > POINTS_MAX:
        errors["points"] = [_("At most %(max)s points at once.") % {"max": POINTS_MAX}]
    return points


def _check_reason(errors: dict, value, *, required: bool) -> str:
    reason = (value or "").strip()
    if required and not reason:
        errors["reason"] = [_("Give a reason.")]
    elif len(reason) > REASON_MAX:
        errors["reason"] = [_("At most %(max)s characters.") % {"max": REASON_MAX}]
    return reason


def _require(actor: Staff | None, roles, message) -> None:
    if actor is None or not actor.has_role(*roles):
        raise PermissionDenied(message)


def _entry(tenant: Tenant, referrer: Referrer, kind: str, points: int, *, actor, reason="",
           referral=None, redemption=None) -> PointsEntry:
    return PointsEntry.objects.create(tenant=tenant, referrer=referrer, kind=kind, points=points,
                                      reason=reason, referral=referral, redemption=redemption,
                                      created_by=actor)


# --------------------------------------------------------------------------- ledger services

@transaction.atomic
def points_earn(*, tenant: Tenant, actor: Staff | None, referrer: Referrer, points: int,
                referral: Referral | None = None, reason: str = "") -> PointsEntry:
    """Credit `points` (> 0) to the referrer: an `earned` row. A primitive for the referral
    lifecycle (actor None = the system); the caller checks who may award. One referral earns at
    most once (a second call for the same referral is refused)."""
    with tenant_context(tenant):
        errors: dict = {}
        points = _check_points(errors, points, positive=True)
        reason = _check_reason(errors, reason, required=False)
        if referral is not None and referral.referrer_id != referrer.pk:
            errors["referral"] = [_("The referral is not this referrer's.")]
        if errors:
            raise ValidationError(errors)
        referrer = _lock_referrer(referrer)
        if referral is not None and PointsEntry.objects.filter(
                referral_id=referral.pk, kind=PointsEntry.Kind.EARNED).exists():
            raise ValidationError({"referral": [_("This referral has already earned points.")]})
        entry = _entry(tenant, referrer, PointsEntry.Kind.EARNED, points, actor=actor,
                       reason=reason, referral=referral)
        audit_record(tenant=tenant, actor=actor, action="points.earn", target=referrer,
                     changes={"points": points, "referral": referral, "entry": entry.pk},
                     reason=reason)
        return entry


@transaction.atomic
def points_take_back(*, tenant: Tenant, referrer: Referrer, referral: Referral,
                     reason: str) -> PointsEntry | None:
    """Take back the points a referral earned (it was reversed after a refund): an `adjusted`
    row of −(earned − already taken back), at most the balance (points already redeemed stay
    spent; points merely held by a pending request are taken back, and that request is then
    refused when decided if it no longer fits). A primitive of the referral lifecycle (the
    system acts); None when nothing is left to take back."""
    with tenant_context(tenant):
        referrer = _lock_referrer(referrer)
        rows = PointsEntry.objects.filter(referral_id=referral.pk)
        earned = sum(rows.filter(kind=PointsEntry.Kind.EARNED).values_list("points", flat=True))
        taken = -sum(rows.filter(kind=PointsEntry.Kind.ADJUSTED, points__lt=0)
                     .values_list("points", flat=True))
        amount = min(earned - taken, max(points_balance(referrer), 0))
        if amount <= 0:
            return None
        entry = _entry(tenant, referrer, PointsEntry.Kind.ADJUSTED, -amount, actor=None,
                       reason=reason[:REASON_MAX], referral=referral)
        audit_record(tenant=tenant, actor=None, action="points.take_back", target=referrer,
                     changes={"points": -amount, "referral": referral, "entry": entry.pk},
                     reason=reason)
        return entry


@transaction.atomic
def points_adjust(*, tenant: Tenant, actor: Staff, referrer: Referrer, points: int,
                  reason: str) -> PointsEntry:
    """A manager's or administrator's correction: an `adjusted` row of ± `points` (not zero) with
    a reason. Refused when it would take the balance below zero."""
    with tenant_context(tenant):
        _require(actor, DECIDE_ROLES, _("Only managers and administrators adjust points."))
        errors: dict = {}
        points = _check_points(errors, points, positive=False)
        reason = _check_reason(errors, reason, required=True)
        if errors:
            raise ValidationError(errors)
        referrer = _lock_referrer(referrer)
        balance = points_balance(referrer)
        if balance + points < 0:
            raise ValidationError({"points": [
                _("The balance is %(balance)s points: it cannot go below zero.")
                % {"balance": balance}]})
        entry = _entry(tenant, referrer, PointsEntry.Kind.ADJUSTED, points, actor=actor,
                       reason=reason)
        audit_record(tenant=tenant, actor=actor, action="points.adjust", target=referrer,
                     changes={"points": points, "balance": balance + points, "entry": entry.pk},
                     reason=reason)
        return entry


@transaction.atomic
def points_expire(*, tenant: Tenant, actor: Staff | None, referrer: Referrer, points: int,
                  reason: str = "") -> PointsEntry:
    """Points that lapse: an `expired` row of −`points` (`points` > 0, at most the balance minus
    the points held by pending requests). Actor None = the system; otherwise a manager or an
    administrator."""
    with tenant_context(tenant):
        if actor is not None:
            _require(actor, DECIDE_ROLES, _("Only managers and administrators expire points."))
        errors: dict = {}
        points = _check_points(errors, points, positive=True)
        reason = _check_reason(errors, reason, required=False)
        if errors:
            raise ValidationError(errors)
        referrer = _lock_referrer(referrer)
        available = points_balance(referrer) - points_held(referrer)
        if points > available:
            raise ValidationError({"points": [
                _("Only %(available)s points can expire (the rest is held or not there).")
                % {"available": max(available, 0)}]})
        entry = _entry(tenant, referrer, PointsEntry.Kind.EXPIRED, -points, actor=actor,
                       reason=reason)
        audit_record(tenant=tenant, actor=actor, action="points.expire", target=referrer,
                     changes={"points": -points, "entry": entry.pk}, reason=reason)
        return entry


# --------------------------------------------------------------------------- items

def _item_fields(errors: dict, name, points, active) -> dict:
    name = (name or "").strip()
    if not name:
        errors["name"] = [_("Give the item a name.")]
    elif len(name) > ITEM_NAME_MAX:
        errors["name"] = [_("At most %(max)s characters.") % {"max": ITEM_NAME_MAX}]
    points = _check_points(errors, points, positive=True)
    return {"name": name, "points": points, "active": bool(active)}


@transaction.atomic
def points_item_create(*, tenant: Tenant, actor: Staff, name: str, points: int,
                       active: bool = True) -> PointsItem:
    """A new item points can be redeemed for (administrators)."""
    with tenant_context(tenant):
        _require(actor, (Role.ADMIN,), _("Only administrators manage the points items."))
        errors: dict = {}
        data = _item_fields(errors, name, points, active)
        if errors:
            raise ValidationError(errors)
        item = PointsItem.objects.create(tenant=tenant, **data)
        audit_record(tenant=tenant, actor=actor, action="points_item.create", target=item,
                     changes=data)
        return item


@transaction.atomic
def points_item_update(*, tenant: Tenant, actor: Staff, item: PointsItem, name: str,
                       points: int, active: bool) -> PointsItem:
    """Rename, reprice or (de)activate an item (administrators). Pending requests keep the
    points they were requested at."""
    with tenant_context(tenant):
        _require(actor, (Role.ADMIN,), _("Only administrators manage the points items."))
        errors: dict = {}
        data = _item_fields(errors, name, points, active)
        if errors:
            raise ValidationError(errors)
        item = PointsItem.objects.select_for_update().get(pk=item.pk)
        changes = diff(item, data)
        if changes:
            for field, value in data.items():
                setattr(item, field, value)
            item.save(update_fields=list(data))
            audit_record(tenant=tenant, actor=actor, action="points_item.update", target=item,
                         changes=changes)
        return item


# --------------------------------------------------------------------------- redemptions

@transaction.atomic
def redemption_request(*, tenant: Tenant, actor: Staff, referrer: Referrer, item: PointsItem,
                       note: str = "") -> PointsRedemption:
    """Ask to redeem the item's points for the referrer (sales for a referrer they may see,
    managers and administrators for any). Refused when the balance minus the points held by the
    referrer's other pending requests is below the item's points."""
    with tenant_context(tenant):
        _require(actor, REQUEST_ROLES, _("You may not request redemptions."))
        if not points_visible_referrers(actor).filter(pk=referrer.pk).exists():
            raise PermissionDenied(_("You may not request redemptions for this referrer."))
        errors: dict = {}
        note = (note or "").strip()
        if len(note) > NOTE_MAX:
            errors["note"] = [_("At most %(max)s characters.") % {"max": NOTE_MAX}]
        if not item.active:
            errors["item"] = [_("This item can no longer be redeemed.")]
        if errors:
            raise ValidationError(errors)
        referrer = _lock_referrer(referrer)
        item = PointsItem.objects.get(pk=item.pk)
        available = points_balance(referrer) - points_held(referrer)
        if available < item.points:
            raise ValidationError({"item": [
                _("Not enough points: %(item)s needs %(needed)s, %(available)s available "
                  "(balance minus pending requests).")
                % {"item": item.name, "needed": item.points, "available": max(available, 0)}]})
        redemption = PointsRedemption.objects.create(
            tenant=tenant, referrer=referrer, item=item, points=item.points, requested_by=actor,
            note=note)
        audit_record(tenant=tenant, actor=actor, action="points.redemption_request",
                     target=redemption, changes={"referrer": referrer, "item": item,
                                                 "points": item.points})
        return redemption


@transaction.atomic
def redemption_decide(*, tenant: Tenant, actor: Staff, redemption: PointsRedemption,
                      approve: bool, note: str = "") -> PointsRedemption:
    """Approve (writes the `redeemed` row, −points, in the same transaction) or reject (nothing
    written to the ledger) a pending request; managers and administrators. The redemption and then
    the referrer are locked, so two decisions at once are serialised: deciding twice is refused
    ("already decided") and approvals can never overdraw the balance. The requester is
    notified."""
    with tenant_context(tenant):
        _require(actor, DECIDE_ROLES, _("Only managers and administrators decide redemptions."))
        note = (note or "").strip()
        if len(note) > NOTE_MAX:
            raise ValidationError({"note": [_("At most %(max)s characters.") % {"max": NOTE_MAX}]})
        redemption = (PointsRedemption.objects.select_for_update(of=("self",))
                      .select_related("item", "requested_by").get(pk=redemption.pk))
        if redemption.status != PointsRedemption.Status.REQUESTED:
            raise ValidationError(_("This redemption has already been decided (%(status)s).")
                                  % {"status": redemption.get_status_display()})
        referrer = _lock_referrer(redemption.referrer)
        if approve:
            balance = points_balance(referrer)
            if balance < redemption.points:
                raise ValidationError(_(
                    "Not enough points: the balance is %(balance)s, the redemption needs "
                    "%(needed)s.") % {"balance": balance, "needed": redemption.points})
            _entry(tenant, referrer, PointsEntry.Kind.REDEEMED, -redemption.points, actor=actor,
                   reason=redemption.item.name, redemption=redemption)
            redemption.status = PointsRedemption.Status.APPROVED
        else:
            redemption.status = PointsRedemption.Status.REJECTED
        redemption.decided_by = actor
        redemption.decided_at = timezone.now()
        if note:
            redemption.note = note
        redemption.save(update_fields=["status", "decided_by", "decided_at", "note"])
        audit_record(tenant=tenant, actor=actor, action="points.redemption_decide",
                     target=redemption, changes={"status": redemption.status,
                                                 "points": redemption.points}, reason=note)
        name = referrer_name(referrer)
        title = (gettext_lazy("Redemption approved: %(item)s for %(name)s") if approve
                 else gettext_lazy("Redemption rejected: %(item)s for %(name)s"))
        try:
            url = reverse("referrals:referrer_points", args=[referrer.pk])
        except NoReverseMatch:  # the page's routes not included (yet)
            url = ""
        notify(tenant=tenant, recipients=[redemption.requested_by], kind=NOTIFY_KIND,
               title=lazy_format(title, {"item": redemption.item.name, "name": name}),
               body=note, url=url, target=redemption, exclude=actor)
        return redemption
