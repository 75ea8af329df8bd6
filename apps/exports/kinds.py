"""What each list export is: for a kind (ExportJob.Kind), the function that rebuilds the
list's queryset from (staff, the list's query parameters) with the list page's own selector —
same visibility rule, filters and ordering — and the app's writer for it.

`prepare(kind, staff, params)` -> Prepared: the row count (a COUNT of that queryset), the
write function (`write(target)` -> rows written, target a path or a binary file) and the
download names. Invalid filters raise ValidationError, as the selectors do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from apps.core.filters import clean_filter_form
from apps.customers import exports as customer_exports
from apps.customers.models import Customer
from apps.customers.selectors import customer_list
from apps.deals import exports as deal_exports
from apps.deals.models import Deal
from apps.deals.selectors import deal_list
from apps.followups import reports as followup_reports
from apps.referrals import exports as referral_exports
from apps.referrals.selectors import referral_list
from apps.tenancy.models import Staff
from apps.vip import card_export
from apps.vip.cards import card_list
from apps.vip.forms_cards import CardFilterForm
from apps.vip.models import VipCard

from .models import ExportJob

Kind = ExportJob.Kind


@dataclass(frozen=True)
class Prepared:
    rows: int
    write: Callable[[object], int]
    filename: tuple[str, str]  # (the download name, its ASCII fallback)


def _customers(staff: Staff, params: Mapping) -> Prepared:
    customers = customer_list(staff, params, queryset=Customer.objects.all())
    return Prepared(customers.count(),
                    lambda target: customer_exports.customers_xlsx(staff, customers, target),
                    customer_exports.export_filename(staff.tenant))


def _referrals(staff: Staff, params: Mapping) -> Prepared:
    referrals = referral_list(staff, params)
    return Prepared(referrals.count(),
                    lambda target: referral_exports.referrals_xlsx(staff, referrals, target),
                    referral_exports.export_filename(staff.tenant))


def _deals(staff: Staff, params: Mapping) -> Prepared:
    deals = deal_list(staff, params, queryset=Deal.objects.all())
    return Prepared(deals.count(), lambda target: deal_exports.deals_xlsx(staff, deals, target),
                    deal_exports.export_filename(staff.tenant))


def _vip_cards(staff: Staff, params: Mapping) -> Prepared:
    cards = card_list(staff, clean_filter_form(CardFilterForm, params), VipCard.objects.all())
    return Prepared(cards.count(), lambda target: card_export.cards_xlsx(staff, cards, target),
                    card_export.export_filename(staff.tenant))


def _followups(staff: Staff, params: Mapping) -> Prepared:
    filters = followup_reports.report_filters(params, staff=staff, tenant=staff.tenant)
    start, end = filters["start"], filters["end"]
    return Prepared(followup_reports.export_tasks(staff, **filters).count(),
                    lambda target: followup_reports.report_xlsx(staff, target, **filters),
                    (followup_reports.export_filename(start, end),
                     followup_reports.export_ascii_filename(start, end)))


KINDS: dict[str, Callable[[Staff, Mapping], Prepared]] = {
    Kind.CUSTOMERS: _customers, Kind.REFERRALS: _referrals, Kind.DEALS: _deals,
    Kind.VIP_CARDS: _vip_cards, Kind.FOLLOWUPS: _followups,
}

#: The list page of each kind (the job page links back to it).
LIST_URLS = {Kind.CUSTOMERS: "customers:list", Kind.REFERRALS: "referrals:referral_list",
             Kind.DEALS: "deals:list", Kind.VIP_CARDS: "vip:card_list",
             Kind.FOLLOWUPS: "followups:report"}


def prepare(kind: str, staff: Staff, params: Mapping) -> Prepared:
    return KINDS[kind](staff, params)
