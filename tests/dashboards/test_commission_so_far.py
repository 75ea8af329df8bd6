"""The sales dashboard's commission "so far" (issue 9 item 3, apps.commissions.so_far): from real
deals of this month, before any calculation it shows what a calculation then stores; it is
reused for COMMISSION_SO_FAR_SECONDS and then follows new deals; once the month is submitted
only the statement's final figure is shown; nothing is written by looking."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.cache import cache
from django.urls import reverse

from apps.commissions import settlements as svc
from apps.commissions.models import CommissionLine, Settlement
from apps.commissions.so_far import cache_key, commission_so_far
from apps.core.models import AuditEntry
from tests.dashboards.support import figure, get, table_rows
from tests.deals.conftest import make_contract, make_deal

SALES = reverse("dashboards:sales")


def _renewal(e, amount="100000.00"):
    """A renewal within 45 days of its contract's start: consultant 70 %, advisor 30 % of the
    1.5 % pool (DOMAIN §5)."""
    contract = make_contract(e, start=e.today - dt.timedelta(days=30))
    return make_deal(e, kind="renewal", amount=amount, signed_on=e.today, renews=contract,
                     participants=[(e.consultant, "consultant", ""), (e.advisor, "advisor", "")])


def _written(w):
    with w.context():
        return (Settlement.objects.count(), CommissionLine.objects.count(),
                AuditEntry.objects.filter(action__startswith="commissions.").count())


def test_before_any_calculation_the_figure_is_what_the_calculation_then_stores(edu, settings):
    settings.COMMISSION_SO_FAR_SECONDS = 0
    e, w = edu, edu.world
    _renewal(e)
    before = _written(w)

    page = get(e.consultant, SALES)
    assert figure(page, "commission-so-far") == "1050.00"
    assert table_rows(page, "commission-so-far-table")[-1][1] == "1050.00"  # the total row
    assert page.context["dash"].commission is None  # no calculation yet: no statement figure
    assert _written(w) == before  # looking writes nothing

    settlement = svc.settlement_calculate(tenant=w.tenant, actor=w.finance, month=e.today)
    stored = {p.staff_id: p.total for p in svc.person_summaries(settlement)}
    for person in (e.consultant, e.advisor):
        assert commission_so_far(w.tenant, person, e.today).total == stored[person.pk]
    assert stored[e.advisor.pk] == Decimal("450.00")

    # Calculated: both the figure so far and the last calculation, equal while nothing changed.
    page = get(e.consultant, SALES)
    assert figure(page, "commission-so-far") == figure(page, "commission") == "1050.00"


def test_the_figure_is_reused_for_its_seconds_then_follows_new_deals(edu, settings):
    settings.COMMISSION_SO_FAR_SECONDS = 300
    e, w = edu, edu.world
    cache.delete(cache_key(w.tenant, e.today.replace(day=1)))
    _renewal(e)
    first = get(e.consultant, SALES)
    assert figure(first, "commission-so-far") == "1050.00"

    _renewal(e)  # a second renewal: 2 100.00 once the cached figure is gone
    again = get(e.consultant, SALES)
    assert figure(again, "commission-so-far") == "1050.00"
    assert again.context["dash"].so_far.computed_at == first.context["dash"].so_far.computed_at

    cache.delete(cache_key(w.tenant, e.today.replace(day=1)))  # as when the seconds run out
    assert figure(get(e.consultant, SALES), "commission-so-far") == "2100.00"


def test_a_person_without_lines_sees_zero_and_a_submitted_month_only_its_statement(edu, settings):
    settings.COMMISSION_SO_FAR_SECONDS = 0
    e, w = edu, edu.world
    _renewal(e)
    assert figure(get(e.teacher1, SALES), "commission-so-far") == "0.00"

    settlement = svc.settlement_calculate(tenant=w.tenant, actor=w.finance, month=e.today)
    svc.settlement_submit(tenant=w.tenant, actor=w.finance, settlement=settlement)
    page = get(e.consultant, SALES)
    assert page.context["dash"].so_far is None
    assert 'data-figure="commission-so-far"' not in page.content.decode()
    assert figure(page, "commission") == "1050.00"


def test_another_tenants_deals_are_not_in_the_figure(edu, world_b, settings):
    settings.COMMISSION_SO_FAR_SECONDS = 0
    e = edu
    _renewal(e)
    other = world_b.make_staff("sales-b", ["sales"], world_b.team1)
    assert commission_so_far(world_b.tenant, other, e.today).total == Decimal("0.00")
    assert figure(get(other, SALES), "commission-so-far") == "0.00"
