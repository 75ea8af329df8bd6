"""Reads of the referral pages and API (lists, filters, counts, what a viewer may see), built
on apps.referrals.lifecycle.visible_referrals. The filters are validated once, by the forms
here, for both the pages and the API (apps.core.filters.clean_filter_form)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal

from django import forms
from django.db.models import Count, Q, QuerySet, Sum
from django.utils.translation import gettext_lazy as _

from apps.core.filters import clean_filter_form
from apps.core.identity import mask_name, mask_phone
from apps.customers.selectors import visible_customers
from apps.ownership.selectors import local_midnight, tenant_today
from apps.tenancy.models import Staff
from apps.tenancy.roles import Role

from . import lifecycle
from .models import Referral, RewardLine
from .referrers import referrer_list, referrer_name

S = Referral.Status

#: Who opens the referral pages (what each sees: lifecycle.visible_referrals).
VIEW_ROLES = (Role.ADMIN, Role.MANAGER, Role.FINANCE, Role.CUSTOMER_SERVICE, Role.SALES)
#: Who reads the reward lines (sales: those of the referrals they see); not customer service.
LINE_ROLES = (Role.ADMIN, Role.MANAGER, Role.FINANCE, Role.SALES)
#: The referrer picker of the log page shows at most this many referrers.
PICKER_LIMIT = 10


def _date_input():
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ReferralFilterForm(forms.Form):
    """The referral list's filters (query parameters); unknown values are field errors."""

    search = forms.CharField(label=_("Search"), required=False, max_length=50,
                             help_text=_("Referrer or referred person: name, mobile number or "
                                         "card code"))
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("Any status")), *S.choices])
    channel = forms.ChoiceField(label=_("Channel"), required=False,
                                choices=[("", _("Any channel")), *Referral.Channel.choices])
    flagged = forms.NullBooleanField(
        label=_("Flagged"), required=False,
        widget=forms.Select(choices=[("", _("Flagged or not")), ("true", _("Flagged only")),
                                     ("false", _("Not flagged"))]))
    date_from = forms.DateField(label=_("Logged from"), required=False, widget=_date_input())
    date_to = forms.DateField(label=_("Logged until"), required=False, widget=_date_input())
    ready = forms.BooleanField(label=_("Ready to approve"), required=False,
                               help_text=_("Pending rewards whose refund window has passed"))

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", _("The end of the range cannot be before its start."))
        return cleaned


def _month_input():
    return forms.DateInput(attrs={"type": "month"}, format="%Y-%m")


class RewardLineFilterForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), required=False,
                             choices=[("", _("Any kind")), *RewardLine.Kind.choices])
    month = forms.DateField(label=_("Month"), required=False, input_formats=["%Y-%m"],
                            widget=_month_input(),
                            error_messages={"invalid": _("Enter a month as YYYY-MM.")})
    search = forms.CharField(label=_("Referrer"), required=False, max_length=50,
                             help_text=_("Referrer's name, mobile number or card code"))


# ----------------------------------------------------------------------------- referrals

def _search(queryset: QuerySet, staff: Staff, term: str) -> QuerySet:
    term = (term or "").strip()
    if not term:
        return queryset
    q = Q(referrer__in=referrer_list(staff, search=term).values("pk")) | Q(name__icontains=term)
    digits = term.replace(" ", "").replace("-", "")
    if digits.isdigit():
        q |= Q(phone__contains=digits)
    return queryset.filter(q)


def _filtered(staff: Staff, cleaned: dict, *, with_status: bool = True) -> QuerySet:
    tenant = staff.tenant
    queryset = _search(lifecycle.visible_referrals(staff), staff, cleaned.get("search", ""))
    if with_status and cleaned.get("status"):
        queryset = queryset.filter(status=cleaned["status"])
    if cleaned.get("channel"):
        queryset = queryset.filter(channel=cleaned["channel"])
    if cleaned.get("flagged") is not None:
        queryset = queryset.filter(flagged=cleaned["flagged"])
    if cleaned.get("date_from"):
        queryset = queryset.filter(created_at__gte=local_midnight(tenant, cleaned["date_from"]))
    if cleaned.get("date_to"):
        queryset = queryset.filter(created_at__lt=local_midnight(
            tenant, cleaned["date_to"] + dt.timedelta(days=1)))
    if cleaned.get("ready"):
        queryset = queryset.filter(status=S.REWARD_PENDING,
                                   hold_until__lt=tenant_today(tenant))
    return queryset


def referral_filters(filters: Mapping | None) -> dict:
    """The cleaned list filters (ValidationError keyed by the filter's name)."""
    return clean_filter_form(ReferralFilterForm, filters)


def referral_list(staff: Staff, filters: Mapping | None = None) -> QuerySet:
    """The referrals `staff` sees, filtered (see ReferralFilterForm), newest first, with what a
    row shows joined (referrer and their customer/staff row, the customer, the card)."""
    return (_filtered(staff, referral_filters(filters))
            .select_related("referrer__customer", "referrer__staff", "customer", "card",
                            "created_by")
            .order_by("-created_at", "-id"))


def referral_status_counts(staff: Staff, filters: Mapping | None = None) -> list[dict]:
    """For the status tabs: every status with the number of referrals the other filters leave
    (one query), plus "all" first: ``[{"status", "label", "count"}]``."""
    cleaned = referral_filters(filters)
    counts = dict(_filtered(staff, cleaned, with_status=False).order_by()
                  .values_list("status").annotate(n=Count("pk")))
    rows = [{"status": "", "label": _("All"), "count": sum(counts.values())}]
    rows += [{"status": value, "label": label, "count": counts.get(value, 0)}
             for value, label in S.choices]
    return rows


def referral_rows(staff: Staff, referrals) -> list[Referral]:
    """The referrals of one page, each with `display_name`, `display_phone` (in full when the
    viewer may see the referred customer, or the person is not a customer yet; else 张* and
    139****5678), `customer_visible` and `referrer_display`. One query for the whole page."""
    referrals = list(referrals)
    ids = {r.customer_id for r in referrals if r.customer_id}
    visible = set(visible_customers(staff).filter(pk__in=ids).values_list("pk", flat=True)
                  ) if ids else set()
    for referral in referrals:
        shown = referral.customer_id is None or referral.customer_id in visible
        referral.customer_visible = referral.customer_id in visible
        referral.display_name = referral.name if shown else mask_name(referral.name)
        referral.display_phone = referral.phone if shown else mask_phone(referral.phone)
        referral.referrer_display = referrer_name(referral.referrer)
    return referrals


def referral_detail(staff: Staff, pk: int) -> Referral:
    """One referral `staff` sees (Referral.DoesNotExist otherwise), with what the page shows."""
    return (lifecycle.visible_referrals(staff)
            .select_related("referrer__customer", "referrer__staff", "customer", "card", "deal",
                            "created_by", "verified_by", "approved_by", "paid_by",
                            "rejected_by", "reward_policy")
            .get(pk=pk))


def referral_timeline(referral: Referral) -> list[dict]:
    """The steps the referral went through, in order: ``[{"step", "label", "at", "by",
    "system", "detail"}]`` (`at` a datetime, or the day the reward is held until)."""
    system = _("the system")
    steps = [{"step": "registered", "label": _("Registered"), "at": referral.created_at,
              "by": referral.created_by.name if referral.created_by else "",
              "detail": referral.get_channel_display()}]
    if referral.verified_at:
        steps.append({"step": "verified", "label": _("Verified"), "at": referral.verified_at,
                      "by": referral.verified_by.name if referral.verified_by else system})
    if referral.converted_at:
        steps.append({"step": "converted", "label": _("Converted: first deal"),
                      "at": referral.converted_at, "by": system})
    if referral.hold_until and referral.status != S.CONVERTED:
        steps.append({"step": "reward_pending", "label": _("Reward held (refund window)"),
                      "day": referral.hold_until, "by": "",
                      "detail": _("Can be approved after %(day)s") % {
                          "day": referral.hold_until.isoformat()}})
    if referral.approved_at:
        steps.append({"step": "approved", "label": _("Approved"), "at": referral.approved_at,
                      "by": referral.approved_by.name if referral.approved_by else system})
    if referral.paid_at:
        steps.append({"step": "paid", "label": _("Paid"), "at": referral.paid_at,
                      "by": referral.paid_by.name if referral.paid_by else system})
    if referral.rejected_at or referral.status == S.REJECTED:
        detail = referral.get_rejection_reason_display()
        if referral.rejection_note:
            detail = f"{detail}: {referral.rejection_note}"
        steps.append({"step": "rejected", "label": _("Rejected"), "at": referral.rejected_at,
                      "by": referral.rejected_by.name if referral.rejected_by else system,
                      "detail": detail})
    if referral.reversed_at:
        steps.append({"step": "reversed", "label": _("Reversed after a refund"),
                      "at": referral.reversed_at, "by": system})
    return steps


def referral_lines(referral: Referral) -> QuerySet:
    return referral.lines.select_related("deal", "refund", "created_by").order_by(
        "occurred_on", "created_at", "id")


def referral_actions(staff: Staff, referral: Referral, today: dt.date | None = None) -> dict:
    """Which action buttons the referral page offers `staff` (the services decide again)."""
    today = today or tenant_today(staff.tenant)
    moves = lifecycle.allowed_transitions(referral)
    return {
        "verify": referral.status == S.REGISTERED and staff.has_role(*lifecycle.LOG_ROLES),
        "reject": lifecycle.may_reject(staff, referral),
        "approve": (lifecycle.may_decide(staff) and S.APPROVED in moves
                    and referral.status == S.REWARD_PENDING),
        "ready": lifecycle.ready_to_approve(referral, today),
        "pay": lifecycle.may_pay(staff) and S.PAID in moves,
    }


# ----------------------------------------------------------------------------- referrer picker

def referrer_choices(staff: Staff, term: str) -> list:
    """At most PICKER_LIMIT active referrers `staff` sees matching `term` (name, mobile number
    or card code), each with `display_name`; nothing for an empty term."""
    term = (term or "").strip()
    if not term:
        return []
    rows = list(referrer_list(staff, search=term, active=True)[:PICKER_LIMIT])
    for referrer in rows:
        referrer.display_name = referrer_name(referrer)
    return rows


def picked_referrer(staff: Staff, pk):
    """The active referrer `staff` sees with this id (from a form or the query), else None."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        return None
    referrer = referrer_list(staff, active=True).filter(pk=pk).first()
    if referrer is not None:
        referrer.display_name = referrer_name(referrer)
    return referrer


# ----------------------------------------------------------------------------- reward lines

def reward_line_filters(filters: Mapping | None) -> dict:
    return clean_filter_form(RewardLineFilterForm, filters)


def visible_reward_lines(staff: Staff, queryset: QuerySet | None = None) -> QuerySet:
    """The lines of the referrals `staff` sees (customer service: none)."""
    queryset = RewardLine.objects.all() if queryset is None else queryset
    if not staff.has_role(*LINE_ROLES):
        return queryset.none()
    return queryset.filter(referral__in=lifecycle.visible_referrals(staff).values("pk"))


def reward_line_list(staff: Staff, filters: Mapping | None = None) -> QuerySet:
    """The reward lines `staff` sees, by kind, month (`occurred_on`) and referrer search, newest
    first, with the referral, referrer and deal joined."""
    cleaned = reward_line_filters(filters)
    queryset = visible_reward_lines(staff)
    if cleaned.get("kind"):
        queryset = queryset.filter(kind=cleaned["kind"])
    month = cleaned.get("month")
    if month:
        start = month.replace(day=1)
        end = (start + dt.timedelta(days=32)).replace(day=1)
        queryset = queryset.filter(occurred_on__gte=start, occurred_on__lt=end)
    term = (cleaned.get("search") or "").strip()
    if term:
        queryset = queryset.filter(referrer__in=referrer_list(staff, search=term).values("pk"))
    return (queryset.select_related("referral", "referrer__customer", "referrer__staff", "deal",
                                    "created_by")
            .order_by("-occurred_on", "-created_at", "-id"))


def reward_line_totals(queryset: QuerySet) -> dict:
    """{"rows": [{"kind", "label", "total", "count"}], "total": Decimal} over `queryset` (one
    query)."""
    sums = {row["kind"]: row for row in queryset.order_by().values("kind").annotate(
        total=Sum("amount"), count=Count("pk"))}
    rows = [{"kind": kind, "label": label,
             "total": sums.get(kind, {}).get("total") or Decimal("0.00"),
             "count": sums.get(kind, {}).get("count", 0)}
            for kind, label in RewardLine.Kind.choices]
    return {"rows": rows, "total": sum((r["total"] for r in rows), Decimal("0.00"))}


def line_rows(lines) -> list[RewardLine]:
    lines = list(lines)
    for line in lines:
        line.referrer_display = referrer_name(line.referrer)
    return lines

