"""Entering a deal (apps.deals.services.deal_create): the credit split by the rule set in force
or by a dispute's decided shares, what is recorded, and every bad input refused with a field
error and nothing saved."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.core.models import AuditEntry
from apps.customers.models import Customer
from apps.deals import services
from apps.deals.models import Contract, Deal, DealCredit, DealParticipant
from apps.disputes import services as disputes
from apps.tenancy.services import staff_set_active

from .conftest import counts, credit_of, make_contract, make_deal, next_number

D = Decimal


def lines(world, deal):
    """{(staff id, role): (percent, amount)} of the deal's original credit lines."""
    return {(s, r): (p, a) for s, r, p, a, _c, refund in credit_of(world, deal) if refund is None}


# --------------------------------------------------------------------------- the rules


def test_renewal_three_teachers_share_after_the_consultants_half_to_the_cent(edu):
    e = edu
    contract = make_contract(e)
    deal = make_deal(e, kind="renewal", amount="10000.00", renews=contract, participants=[
        (e.consultant, "consultant", ""), (e.teacher1, "teacher", "数学"),
        (e.teacher2, "teacher", "英语"), (e.teacher3, "teacher", "物理")])
    got = lines(e.world, deal)
    assert got == {
        (e.consultant.pk, "consultant"): (D("50.000000"), D("5000.00")),
        # 5000 / 3 = 1666.666…: the two cents left over go to the earlier lines.
        (e.teacher1.pk, "teacher"): (D("16.666667"), D("1666.67")),
        (e.teacher2.pk, "teacher"): (D("16.666667"), D("1666.67")),
        (e.teacher3.pk, "teacher"): (D("16.666666"), D("1666.66")),
    }
    assert sum(a for _p, a in got.values()) == D("10000.00")
    assert sum(p for p, _a in got.values()) == D("100")
    with e.world.context():
        credits = list(DealCredit.objects.filter(deal=deal))
        assert {c.source for c in credits} == {"rules"}
        assert {c.rule_version for c in credits} == {e.rule_set.version}
        assert all(c.explanation for c in credits)
        saved = Deal.objects.get(pk=deal.pk)
    assert saved.credit_rule_version == e.rule_set.version
    assert saved.days_since_contract_start == 100


@pytest.mark.parametrize(("amount", "expected"), [
    ("100.00", ["50.00", "16.67", "16.67", "16.66"]),
    ("0.01", ["0.01", "0.00", "0.00", "0.00"]),
    ("99999.99", ["50000.00", "16666.67", "16666.66", "16666.66"]),
])
def test_the_cents_always_add_up(edu, amount, expected):
    e = edu
    deal = make_deal(e, kind="renewal", amount=amount, renews=make_contract(e), participants=[
        (e.consultant, "consultant", ""), (e.teacher1, "teacher", "数学"),
        (e.teacher2, "teacher", "英语"), (e.teacher3, "teacher", "物理")])
    got = lines(e.world, deal)
    order = [(e.consultant.pk, "consultant"), (e.teacher1.pk, "teacher"),
             (e.teacher2.pk, "teacher"), (e.teacher3.pk, "teacher")]
    # A line of 0.00 is not stored (nobody earns nothing); the rest is exact.
    assert [str(got[k][1]) if k in got else "0.00" for k in order] == expected
    assert sum(a for _p, a in got.values()) == D(amount)


def test_new_deal_number_obtainer_and_trial_teacher_get_half_each(edu):
    e = edu
    deal = make_deal(e, amount="8000", participants=[
        (e.world.sales, "number_obtainer", ""), (e.teacher1, "teacher", "数学"),
        (e.consultant, "consultant", "")])
    assert lines(e.world, deal) == {
        (e.world.sales.pk, "number_obtainer"): (D("50.000000"), D("4000.00")),
        (e.teacher1.pk, "teacher"): (D("50.000000"), D("4000.00")),
    }


def test_referral_the_teacher_never_raised_goes_to_the_consultant(edu):
    e = edu
    both = [(e.consultant, "consultant", ""), (e.teacher1, "teacher", "")]
    raised = make_deal(e, kind="referral", amount="6000", participants=both)
    assert lines(e.world, raised) == {
        (e.consultant.pk, "consultant"): (D("50.000000"), D("3000.00")),
        (e.teacher1.pk, "teacher"): (D("50.000000"), D("3000.00"))}
    not_raised = make_deal(e, kind="referral", amount="6000", participants=both,
                           teacher_raised=False)
    assert lines(e.world, not_raised) == {
        (e.consultant.pk, "consultant"): (D("100.000000"), D("6000.00"))}


def test_expansion_consultant_half_then_teachers_share(edu):
    e = edu
    deal = make_deal(e, kind="expansion", amount="9000", participants=[
        (e.consultant, "consultant", ""), (e.teacher1, "teacher", "数学"),
        (e.teacher2, "teacher", "语文")])
    assert lines(e.world, deal) == {
        (e.consultant.pk, "consultant"): (D("50.000000"), D("4500.00")),
        (e.teacher1.pk, "teacher"): (D("25.000000"), D("2250.00")),
        (e.teacher2.pk, "teacher"): (D("25.000000"), D("2250.00"))}


def test_without_a_rule_set_of_its_own_the_industry_preset_splits_and_no_version(world_a):
    from tests.customers.factories import CustomerFactory

    w = world_a  # furniture: the "general" preset (the closer earns it)
    customer = CustomerFactory(tenant=w.tenant, actor=w.sales)
    deal = services.deal_create(
        tenant=w.tenant, actor=w.sales, customer=customer, kind="new", amount=D("5000"),
        signed_on=dt.date.today() - dt.timedelta(days=1), contract_number="JJ-1",
        participants=[(w.sales, "closer", "")])
    assert deal.credit_rule_version is None
    assert lines(w, deal) == {(w.sales.pk, "closer"): (D("100.000000"), D("5000.00"))}


def test_nobody_who_can_earn_it_is_a_participants_error(edu):
    e = edu
    before = counts(e.world)
    with pytest.raises(ValidationError) as exc:
        make_deal(e, kind="new", participants=[(e.advisor, "advisor", "")])
    assert "participants" in exc.value.message_dict
    assert counts(e.world) == before


# --------------------------------------------------------------------------- dispute shares


def decided(world, customer, outcome, **kw):
    dispute = disputes.dispute_open(tenant=world.tenant, actor=world.sales2, customer=customer,
                                    claimant=world.sales2, claim="客户说先联系的我")
    return disputes.dispute_decide(tenant=world.tenant, actor=world.manager, dispute=dispute,
                                   outcome=outcome, note="经理裁决", **kw)


def test_dispute_split_takes_precedence_over_the_rules(edu):
    e = edu
    w = e.world
    dispute = decided(w, e.customer, "split", shares={w.sales: 60, w.sales2: 40})
    deal = make_deal(e, amount="3333.33", participants=[(e.consultant, "consultant", "")])
    assert lines(w, deal) == {
        (w.sales.pk, ""): (D("60.000000"), D("2000.00")),
        (w.sales2.pk, ""): (D("40.000000"), D("1333.33"))}
    with w.context():
        credits = list(DealCredit.objects.filter(deal=deal))
        assert {c.source for c in credits} == {"dispute"}
        assert {c.rule_version for c in credits} == {None}
        assert all(f"#{dispute.pk}" in c.explanation for c in credits)
        assert Deal.objects.get(pk=deal.pk).credit_rule_version is None
        # The participants are recorded as they were, even though they earn nothing.
        assert list(DealParticipant.objects.filter(deal=deal).values_list("staff_id", flat=True)) \
            == [e.consultant.pk]


def test_dispute_confiscation_one_confiscated_line_nobody_earns(edu):
    e = edu
    w = e.world
    decided(w, e.customer, "confiscate")
    deal = make_deal(e, amount="1000", participants=[(e.consultant, "consultant", "")])
    assert credit_of(w, deal) == [(None, "", D("100.000000"), D("1000.00"), True, None)]


# --------------------------------------------------------------------------- what is recorded


def test_owner_team_contact_and_audit_are_recorded(edu):
    e = edu
    w = e.world
    yesterday = e.today - dt.timedelta(days=1)
    with w.context():
        Customer.objects.filter(pk=e.customer.pk).update(
            last_contact_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    deal = make_deal(e, actor=w.sales, signed_on=yesterday, units=3, notes="  团购  ")
    with w.context():
        saved = Deal.objects.get(pk=deal.pk)
        customer = Customer.objects.get(pk=e.customer.pk)
        entry = AuditEntry.objects.get(target_type="deals.deal", target_id=deal.pk)
    assert (saved.owner_id, saved.team_id, saved.created_by_id) == (w.sales.pk, w.team1.pk,
                                                                    w.sales.pk)
    assert (saved.units, saved.notes) == (3, "团购")
    assert customer.last_contact_at.date() >= yesterday - dt.timedelta(days=1)
    assert customer.last_contact_at.year > 2020
    assert entry.action == "deal.create" and entry.actor_id == w.sales.pk
    assert entry.changes["amount"] == "10000.00"
    assert entry.changes["credit_source"] == "rules"


def test_the_returned_deal_shows_its_participants_and_credit_without_queries(
        edu, django_assert_num_queries):
    e = edu
    deal = make_deal(e, participants=[(e.consultant, "consultant", ""),
                                      (e.teacher1, "teacher", "数学")])
    with django_assert_num_queries(0):
        assert [(p.staff.name, p.role.code) for p in deal.participants.all()] == [
            (e.consultant.name, "consultant"), (e.teacher1.name, "teacher")]
        assert sum(c.amount for c in deal.credits.all()) == deal.amount
        assert list(deal.refunds.all()) == []


def test_renewal_records_days_since_the_renewed_contracts_start_45_vs_46(edu):
    e = edu
    day45 = make_contract(e, start=e.today - dt.timedelta(days=45))
    day46 = make_contract(e, start=e.today - dt.timedelta(days=46))
    started_today = make_contract(e, start=e.today)
    people = [(e.teacher1, "teacher", "")]
    assert make_deal(e, kind="renewal", renews=day45, participants=people) \
        .days_since_contract_start == 45
    assert make_deal(e, kind="renewal", renews=day46, participants=people) \
        .days_since_contract_start == 46
    assert make_deal(e, kind="renewal", renews=started_today, participants=people) \
        .days_since_contract_start == 0


def test_term_dates_create_the_contract_and_mark_the_renewed_one(edu):
    e = edu
    old = make_contract(e, start=e.today - dt.timedelta(days=30))
    deal = make_deal(e, kind="renewal", renews=old, contract_number="XF-2025-001",
                     amount="12000", participants=[(e.teacher1, "teacher", "")],
                     term_start=e.today, term_end=e.today + dt.timedelta(days=364),
                     hours_bought=D("48"))
    with e.world.context():
        saved = Deal.objects.select_related("contract").get(pk=deal.pk)
        contract = saved.contract
        old = Contract.objects.get(pk=old.pk)
    assert contract is not None and contract.number == "XF-2025-001"
    assert (contract.start, contract.end, contract.amount, contract.hours_bought) == (
        e.today, e.today + dt.timedelta(days=364), D("12000.00"), D("48.0"))
    assert (contract.customer_id, contract.owner_id) == (e.customer.pk, e.world.sales.pk)
    assert old.renewed_by_id == contract.pk


def test_sales_may_enter_deals_of_their_own_customers(edu):
    e = edu
    deal = make_deal(e, actor=e.world.sales, participants=[(e.world.sales, "closer", "")])
    assert deal.pk and deal.created_by_id == e.world.sales.pk


def test_deal_notes_are_the_only_change(edu):
    e = edu
    deal = make_deal(e)
    services.deal_notes_update(tenant=e.tenant, actor=e.world.manager, deal=deal,
                               notes="家长要求发票")
    with e.world.context():
        assert Deal.objects.get(pk=deal.pk).notes == "家长要求发票"
        entry = AuditEntry.objects.get(action="deal.notes", target_id=deal.pk)
    assert entry.changes == {"notes": ["", "家长要求发票"]}
    with pytest.raises(ValidationError) as exc:
        services.deal_notes_update(tenant=e.tenant, actor=e.world.manager, deal=deal,
                                   notes="x" * 2001)
    assert "notes" in exc.value.message_dict
    with pytest.raises(PermissionDenied):
        services.deal_notes_update(tenant=e.tenant, actor=e.world.finance, deal=deal, notes="")


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("role", ["cs", "finance"])
def test_customer_service_and_finance_cannot_enter_deals(edu, role):
    e = edu
    before = counts(e.world)
    with pytest.raises(PermissionDenied):
        make_deal(e, actor=getattr(e.world, role))
    assert counts(e.world) == before


def test_sales_cannot_enter_a_deal_of_someone_elses_customer(edu):
    e = edu
    before = counts(e.world)
    with pytest.raises(ValidationError) as exc:
        make_deal(e, actor=e.world.sales, customer=e.other_customer)
    assert exc.value.message_dict == {"customer": ["找不到该客户。"]}
    assert counts(e.world) == before


def refused(edu, field, **kw):
    """deal_create with `kw` raises a ValidationError naming `field`; nothing is saved."""
    before = counts(edu.world)
    with pytest.raises(ValidationError) as exc:
        make_deal(edu, **kw)
    assert field in exc.value.message_dict, exc.value.message_dict
    assert counts(edu.world) == before
    return exc.value.message_dict[field]


@pytest.mark.parametrize(("amount", "message"), [
    ("0", "请输入大于 0 的金额。"),
    ("-100", "请输入大于 0 的金额。"),
    ("12.345", "金额最多两位小数。"),
    ("abc", "请输入金额，例如 12800 或 12800.50。"),
    ("", "请输入金额。"),
    ("1000000000000", "金额过大。"),
])
def test_bad_amounts_are_refused(edu, amount, message):
    e = edu
    before = counts(e.world)
    with pytest.raises(ValidationError) as exc:
        services.deal_create(tenant=e.tenant, actor=e.world.admin, customer=e.customer,
                             kind="new", amount=amount, signed_on=e.today,
                             contract_number=next_number(),
                             participants=[(e.consultant, "consultant", "")])
    assert exc.value.message_dict["amount"] == [message]
    assert counts(e.world) == before


def test_duplicate_contract_number_is_refused(edu):
    make_deal(edu, contract_number="HT-DUP")
    assert refused(edu, "contract_number", contract_number="HT-DUP") == [
        "合同编号 HT-DUP 已被使用。"]


def test_participant_of_another_tenant_is_unknown_and_never_named(edu, world_b):
    messages = refused(edu, "participants", participants=[(world_b.sales, "consultant", "")])
    assert messages == ["第 1 位参与人：未知员工。"]
    assert world_b.sales.name not in " ".join(messages)


def test_inactive_participant_is_refused(edu):
    e = edu
    staff_set_active(tenant=e.tenant, actor=e.world.admin, staff=e.teacher2, active=False,
                     reason="离职")
    with e.world.context():
        e.teacher2.refresh_from_db()
    assert refused(e, "participants", participants=[
        (e.consultant, "consultant", ""), (e.teacher2, "teacher", "")]) == [
        f"第 2 位参与人：{e.teacher2.name} 已停用。"]


def test_unknown_role_duplicate_row_and_no_participant_are_refused(edu):
    e = edu
    assert refused(e, "participants", participants=[(e.consultant, "chef", "")]) == [
        "第 1 位参与人：未知角色“chef”。"]
    assert refused(e, "participants", participants=[
        (e.consultant, "consultant", ""), (e.consultant, "consultant", "")]) == [
        f"第 2 位参与人：{e.consultant.name} 已作为咨询师列出。"]
    assert refused(e, "participants", participants=[]) == ["请至少添加一位参与人。"]


def test_renewal_needs_the_contract_it_renews(edu):
    assert refused(edu, "renews", kind="renewal") == ["请选择本单续费的合同。"]


def test_renewal_linked_to_another_customers_contract_is_refused(edu):
    e = edu
    theirs = make_contract(e, customer=e.other_customer)
    messages = refused(e, "renews", kind="renewal", renews=theirs)
    # The renewals module words it; it never names the other customer.
    assert len(messages) == 1 and e.other_customer.name not in messages[0]
    with e.world.context():
        assert Contract.objects.get(pk=theirs.pk).renewed_by_id is None


def test_renewal_of_another_tenants_contract_is_unknown(edu, world_b):
    from tests.customers.factories import CustomerFactory

    with world_b.context():
        b_customer = CustomerFactory(tenant=world_b.tenant, actor=world_b.sales)
        theirs = Contract.objects.create(tenant=world_b.tenant, customer=b_customer, number="B-1",
                                         start=edu.today, end=edu.today, amount=D("1"))
    assert refused(edu, "renews", kind="renewal", renews=theirs) == ["找不到该合同。"]


def test_only_a_renewal_renews(edu):
    assert refused(edu, "renews", kind="new", renews=make_contract(edu)) == [
        "只有续费单才续签合同。"]


def test_term_end_before_start_is_refused(edu):
    e = edu
    assert refused(e, "term_end", term_start=e.today,
                   term_end=e.today - dt.timedelta(days=1)) == ["合同结束日期不能早于开始日期。"]
    assert refused(e, "term_end", term_start=e.today) == ["请填写合同结束日期。"]


def test_signing_in_the_future_is_refused(edu):
    assert refused(edu, "signed_on", signed_on=edu.today + dt.timedelta(days=1)) == [
        "签约日期不能晚于今天。"]


def test_every_error_comes_back_at_once(edu):
    e = edu
    before = counts(e.world)
    with pytest.raises(ValidationError) as exc:
        services.deal_create(tenant=e.tenant, actor=e.world.admin, customer=e.customer,
                             kind="gift", amount="-1", signed_on=None, contract_number=" ",
                             participants=[], units=0)
    assert set(exc.value.message_dict) == {"kind", "amount", "signed_on", "contract_number",
                                           "participants", "units"}
    assert counts(e.world) == before
