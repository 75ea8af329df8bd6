"""Contracts: the renewal check (days since the start, day 0 / 45 / 46), the term a deal
creates (and the contract it renews), contracts entered without a deal, end/notes changes
and hours consumed. Refusals are field errors in Chinese and change nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.core.models import AuditEntry
from apps.deals.contracts import (
    contract_create,
    contract_create_for_deal,
    contract_hours_consume,
    contract_update,
    renewal_chain,
    renewal_check,
)
from apps.deals.models import Contract, Deal
from apps.renewals.models import RenewalReminder
from tests.concurrency import committed, run_together

from .helpers import D, contracts_state, days, fresh, make_contract, make_customer, make_deal

# --------------------------------------------------------------------------- renewal_check


@pytest.mark.parametrize(("offset", "expected"), [(0, 0), (1, 1), (45, 45), (46, 46), (400, 400)])
def test_renewal_check_counts_days_from_the_start_as_day_0(world_a, offset, expected):
    contract = make_contract(world_a, start=D, end=D + days(364))
    customer = contract.customer
    assert renewal_check(customer=customer, contract=contract,
                         signed_on=D + days(offset)) == expected


def test_renewal_check_refuses_another_customers_contract_without_naming_them(world_a):
    contract = make_contract(world_a, start=D)
    other = make_customer(world_a, world_a.sales, name="王五")
    with pytest.raises(ValidationError) as exc:
        renewal_check(customer=other, contract=contract, signed_on=D + days(10))
    messages = exc.value.message_dict["renews"]
    assert messages == ["该合同不属于这位客户：续费只能续该客户自己的合同。"]
    assert contract.customer.name not in messages[0]


def test_renewal_check_refuses_a_contract_already_renewed(world_a):
    first = make_contract(world_a, start=D, end=D + days(90))
    deal = make_deal(world_a, first.customer, signed_on=D + days(30))
    contract_create_for_deal(tenant=world_a.tenant, actor=world_a.sales, deal=deal,
                             start=D + days(91), end=D + days(181), renews=first)
    with pytest.raises(ValidationError) as exc:
        renewal_check(customer=first.customer, contract=fresh(world_a, first),
                      signed_on=D + days(40))
    assert exc.value.message_dict == {"renews": [f"合同 {first.number} 已经续费过了。"]}


def test_renewal_check_refuses_a_signing_before_the_start(world_a):
    contract = make_contract(world_a, start=D)
    with pytest.raises(ValidationError) as exc:
        renewal_check(customer=contract.customer, contract=contract, signed_on=D - days(1))
    assert exc.value.message_dict == {
        "renews": ["续费的签约日期不能早于所续合同的开始日期（2026-03-01）。"]}


# --------------------------------------------------------------------------- contract_create_for_deal


def test_deal_creates_its_term_with_the_deals_number_amount_owner_and_team(world_a):
    w = world_a
    customer = make_customer(w, w.sales2)
    deal = make_deal(w, customer, signed_on=D, amount="36000.00", kind=Deal.Kind.NEW,
                     number="XK-2026-001")
    contract = contract_create_for_deal(tenant=w.tenant, actor=w.sales2, deal=deal, start=D,
                                        end=D + days(364), hours_bought=Decimal("120"))
    contract = fresh(w, contract)
    assert (contract.number, contract.amount, contract.customer_id, contract.owner,
            contract.team, contract.hours_bought, contract.hours_consumed) == (
        "XK-2026-001", Decimal("36000.00"), customer.pk, w.sales2, w.team1, Decimal("120.0"),
        Decimal("0"))
    assert deal.contract == contract
    with w.context():
        assert Deal.objects.get(pk=deal.pk).contract_id == contract.pk
        assert AuditEntry.objects.filter(action="contract.create", target_id=contract.pk).exists()


def test_a_renewal_links_the_renewed_contract_and_the_chain(world_a):
    w = world_a
    first = make_contract(w, start=D, end=D + days(89))
    deal = make_deal(w, first.customer, signed_on=D + days(45))
    second = contract_create_for_deal(tenant=w.tenant, actor=w.sales, deal=deal,
                                      start=D + days(90), end=D + days(179), renews=first)
    assert first.renewed_by == second  # the instance passed in is updated too
    assert fresh(w, first).renewed_by_id == second.pk
    deal3 = make_deal(w, first.customer, signed_on=D + days(120))
    third = contract_create_for_deal(tenant=w.tenant, actor=w.sales, deal=deal3,
                                     start=D + days(180), end=D + days(269), renews=second)
    with w.context():
        assert [c.pk for c in renewal_chain(fresh(w, second))] == [first.pk, second.pk, third.pk]
        assert AuditEntry.objects.filter(action="contract.renew").count() == 2


def test_deal_term_ending_before_its_start_is_refused_and_nothing_changes(world_a):
    w = world_a
    first = make_contract(w, start=D)
    deal = make_deal(w, first.customer, signed_on=D + days(10))
    before = contracts_state(w)
    with pytest.raises(ValidationError) as exc:
        contract_create_for_deal(tenant=w.tenant, actor=w.sales, deal=deal, start=D + days(30),
                                 end=D + days(29), renews=first)
    assert exc.value.message_dict == {"term_end": ["合同结束日期不能早于开始日期。"]}
    assert contracts_state(w) == before


def test_deal_renewing_another_customers_or_a_renewed_contract_changes_nothing(world_a):
    w = world_a
    first = make_contract(w, start=D)
    stranger = make_customer(w, w.sales)
    before = contracts_state(w)
    with pytest.raises(ValidationError) as exc:
        contract_create_for_deal(tenant=w.tenant, actor=w.sales,
                                 deal=make_deal(w, stranger, signed_on=D + days(5)),
                                 start=D + days(365), end=D + days(700), renews=first)
    assert "renews" in exc.value.message_dict
    assert contracts_state(w) == before

    deal = make_deal(w, first.customer, signed_on=D + days(5))
    contract_create_for_deal(tenant=w.tenant, actor=w.sales, deal=deal, start=D + days(365),
                             end=D + days(700), renews=first)
    before = contracts_state(w)
    with pytest.raises(ValidationError) as exc:
        contract_create_for_deal(tenant=w.tenant, actor=w.sales,
                                 deal=make_deal(w, first.customer, signed_on=D + days(6)),
                                 start=D + days(365), end=D + days(700), renews=first)
    assert exc.value.message_dict == {"renews": [f"合同 {first.number} 已经续费过了。"]}
    assert contracts_state(w) == before


def test_deal_with_a_contract_number_already_used_is_a_field_error(world_a):
    w = world_a
    make_contract(w, number="HT-SAME")
    deal = make_deal(w, make_customer(w), signed_on=D, number="HT-SAME", kind=Deal.Kind.NEW)
    before = contracts_state(w)
    with pytest.raises(ValidationError) as exc:
        contract_create_for_deal(tenant=w.tenant, actor=w.sales, deal=deal, start=D,
                                 end=D + days(30))
    assert exc.value.message_dict == {"contract_number": ["合同编号 HT-SAME 已被使用。"]}
    assert contracts_state(w) == before


@committed
def test_two_deals_renewing_one_contract_at_once_only_one_wins(world_a):
    w = world_a
    first = make_contract(w, start=D)
    deals = [make_deal(w, first.customer, signed_on=D + days(40 + i)) for i in range(2)]

    def renew(deal):
        from django.db import transaction
        with transaction.atomic():
            return contract_create_for_deal(tenant=w.tenant, actor=w.sales, deal=deal,
                                            start=D + days(365), end=D + days(729),
                                            renews=Contract(pk=first.pk))

    results = run_together(lambda: renew(deals[0]), lambda: renew(deals[1]))
    kinds = sorted(kind for kind, _ in results)
    assert kinds == ["error", "ok"], results
    [error] = [value for kind, value in results if kind == "error"]
    assert error.message_dict == {"renews": [f"合同 {first.number} 已经续费过了。"]}
    [winner] = [value for kind, value in results if kind == "ok"]
    assert fresh(w, first).renewed_by_id == winner.pk
    with w.context():
        assert Contract.objects.count() == 2


# --------------------------------------------------------------------------- contract_create


def test_manager_enters_a_contract_for_a_team_customer(world_a):
    w = world_a
    customer = make_customer(w, w.sales2)
    contract = contract_create(tenant=w.tenant, actor=w.manager, customer=customer,
                               number=" OLD-001 ", start=D, end=D + days(180),
                               amount=Decimal("5000"), hours_bought=Decimal("48.5"),
                               notes="老客户补录")
    contract = fresh(w, contract)
    assert (contract.number, contract.owner, contract.team, contract.amount,
            contract.hours_bought, contract.notes, contract.created_by) == (
        "OLD-001", w.sales2, w.team1, Decimal("5000.00"), Decimal("48.5"), "老客户补录",
        w.manager)


def test_contract_create_refuses_bad_input_field_by_field(world_a):
    w = world_a
    make_contract(w, number="TAKEN")
    before = contracts_state(w)
    other_team_customer = make_customer(w, w.sales_other_team)
    with pytest.raises(ValidationError) as exc:
        contract_create(tenant=w.tenant, actor=w.manager, customer=other_team_customer,
                        number="TAKEN", start=D, end=D - days(1), amount=Decimal("0"),
                        hours_bought=Decimal("-1"))
    assert exc.value.message_dict == {
        "customer": ["找不到该客户。"],
        "number": ["合同编号 TAKEN 已被使用。"],
        "end": ["合同结束日期不能早于开始日期。"],
        "amount": ["金额必须大于零。"],
        "hours_bought": ["课时数不能小于 0。"],
    }
    with pytest.raises(ValidationError) as exc:
        contract_create(tenant=w.tenant, actor=w.admin, customer=make_customer(w), number="",
                        start=None, end=D, amount=Decimal("-5.00"))
    assert exc.value.message_dict == {"number": ["请填写合同编号。"],
                                      "start": ["请填写合同开始日期。"],
                                      "amount": ["金额必须大于零。"]}
    with pytest.raises(ValidationError) as exc:
        contract_create(tenant=w.tenant, actor=w.admin, customer=make_customer(w), number="X1",
                        start=D, end=D, amount=Decimal("1.005"))
    assert exc.value.message_dict == {"amount": ["金额以元为单位，最多两位小数（到分）。"]}
    assert contracts_state(w) == before


@pytest.mark.parametrize("role", ["sales", "cs", "finance"])
def test_only_managers_and_admins_enter_contracts(world_a, role):
    w = world_a
    before = contracts_state(w)
    with pytest.raises(PermissionDenied):
        contract_create(tenant=w.tenant, actor=getattr(w, role), customer=make_customer(w),
                        number="NOPE", start=D, end=D + days(1), amount=Decimal("1"))
    assert contracts_state(w) == before


@committed
def test_the_same_number_entered_twice_at_once_is_one_contract_and_one_field_error(world_a):
    w = world_a
    customers = [make_customer(w), make_customer(w)]

    def create(customer):
        return contract_create(tenant=w.tenant, actor=w.admin, customer=customer,
                               number="RACE-1", start=D, end=D + days(30), amount=Decimal("100"))

    results = run_together(lambda: create(customers[0]), lambda: create(customers[1]))
    assert sorted(kind for kind, _ in results) == ["error", "ok"], results
    [error] = [value for kind, value in results if kind == "error"]
    assert error.message_dict == {"number": ["合同编号 RACE-1 已被使用。"]}
    with w.context():
        assert Contract.objects.filter(number="RACE-1").count() == 1


# --------------------------------------------------------------------------- update and hours


def test_contract_update_extends_the_end_and_is_audited(world_a):
    w = world_a
    contract = make_contract(w, start=D, end=D + days(30))
    updated = contract_update(tenant=w.tenant, actor=w.manager, contract=contract,
                              end=D + days(120), notes="延期三个月")
    assert (updated.end, updated.notes) == (D + days(120), "延期三个月")
    with w.context():
        entry = AuditEntry.objects.get(action="contract.update", target_id=contract.pk)
    assert entry.changes["end"] == [(D + days(30)).isoformat(), (D + days(120)).isoformat()]
    assert entry.actor_id == w.manager.pk


def test_contract_update_forgets_the_reminders_that_are_ahead_again(world_a, settings):
    """Extended by a year: the 30- and 7-day reminders logged for the old end go out again
    before the new one."""
    from apps.ownership.selectors import tenant_today
    w = world_a
    today = tenant_today(w.tenant)
    contract = make_contract(w, start=today - days(300), end=today + days(5))
    with w.context():
        for lead in (30, 7):
            RenewalReminder.objects.create(tenant=w.tenant, contract=contract, lead_days=lead)
    contract_update(tenant=w.tenant, actor=w.admin, contract=contract, end=today + days(20))
    with w.context():
        assert list(RenewalReminder.objects.values_list("lead_days", flat=True)) == [30]
    contract_update(tenant=w.tenant, actor=w.admin, contract=contract, end=today + days(365))
    with w.context():
        assert not RenewalReminder.objects.exists()


def test_contract_update_refusals(world_a):
    w = world_a
    contract = make_contract(w, start=D, end=D + days(30))
    other_team = make_contract(w, w.sales_other_team)
    before = contracts_state(w)
    with pytest.raises(ValidationError) as exc:
        contract_update(tenant=w.tenant, actor=w.admin, contract=contract, end=D - days(1))
    assert exc.value.message_dict == {"end": ["合同结束日期不能早于开始日期。"]}
    for actor, target in ((w.sales, contract), (w.manager, other_team), (w.finance, contract)):
        with pytest.raises(PermissionDenied):
            contract_update(tenant=w.tenant, actor=actor, contract=target, end=D + days(60))
    assert contracts_state(w) == before


def test_hours_consumed_stay_between_zero_and_hours_bought(world_a):
    w = world_a
    contract = make_contract(w, hours="10")
    contract = contract_hours_consume(tenant=w.tenant, actor=w.sales, contract=contract,
                                      hours=Decimal("7.5"))
    assert fresh(w, contract).hours_consumed == Decimal("7.5")
    before = contracts_state(w)
    for hours, message in ((Decimal("3"), "购买的 10.0 课时只剩 2.5 课时。"),
                           (Decimal("-8"), "已消耗课时不能小于 0（目前已登记 7.5 课时）。"),
                           (Decimal("0"), "请输入不为 0 的课时数。"),
                           (Decimal("0.25"), "课时数最多保留一位小数。")):
        with pytest.raises(ValidationError) as exc:
            contract_hours_consume(tenant=w.tenant, actor=w.sales, contract=contract, hours=hours)
        assert exc.value.message_dict == {"hours": [message]}
    assert contracts_state(w) == before
    contract_hours_consume(tenant=w.tenant, actor=w.cs, contract=contract, hours=Decimal("-1.5"))
    contract_hours_consume(tenant=w.tenant, actor=w.admin, contract=contract, hours=Decimal("4"))
    assert fresh(w, contract).hours_consumed == Decimal("10.0")
    no_hours = make_contract(w)
    with pytest.raises(ValidationError) as exc:
        contract_hours_consume(tenant=w.tenant, actor=w.admin, contract=no_hours, hours=1)
    assert exc.value.message_dict == {"hours": ["该合同没有购买课时。"]}
    for actor in (w.finance, w.sales2, w.sales_other_team):
        with pytest.raises(PermissionDenied):
            contract_hours_consume(tenant=w.tenant, actor=actor, contract=contract, hours=-1)


@committed
def test_two_hour_records_at_once_never_overdraw(world_a):
    w = world_a
    contract = make_contract(w, hours="10")
    results = run_together(
        *[lambda: contract_hours_consume(tenant=w.tenant, actor=w.sales, contract=contract,
                                         hours=Decimal("6")) for _ in range(2)])
    assert sorted(kind for kind, _ in results) == ["error", "ok"], results
    assert fresh(w, contract).hours_consumed == Decimal("6.0")
