"""Refunds (apps.deals.services.deal_refund): partial and full, the credit reversed in proportion
to the cent, who may refund, bad input refused with nothing changed, notifications, and two
refunds at the same moment never exceeding the deal."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.core.models import AuditEntry
from apps.deals import services
from apps.deals.models import Deal, DealCredit
from apps.notifications.models import Notification
from apps.tenancy.roles import Role

from .conftest import counts, credit_of, make_contract, make_deal, net_of

D = Decimal


@pytest.fixture
def deal(edu):
    """10 000 renewal: consultant 5000, three teachers 1666.67 / 1666.67 / 1666.66."""
    e = edu
    return make_deal(e, kind="renewal", amount="10000.00", renews=make_contract(e),
                     participants=[
                         (e.consultant, "consultant", ""), (e.teacher1, "teacher", "数学"),
                         (e.teacher2, "teacher", "英语"), (e.teacher3, "teacher", "物理")])


def refund(edu, deal, amount, *, actor=None, day=None, reason="家长退课"):
    return services.deal_refund(tenant=edu.tenant, actor=actor or edu.world.admin, deal=deal,
                                amount=D(amount), refunded_on=day or edu.today, reason=reason)


def reversals(world, refund_obj) -> dict:
    with world.context():
        return {staff: amount for staff, amount in DealCredit.objects.filter(refund=refund_obj)
                .values_list("staff_id", "amount")}


def test_partial_refund_reverses_exactly_in_proportion(edu, deal):
    e = edu
    r = refund(e, deal, "3000.00")
    assert reversals(e.world, r) == {
        e.consultant.pk: D("-1500.00"), e.teacher1.pk: D("-500.00"),
        e.teacher2.pk: D("-500.00"), e.teacher3.pk: D("-500.00")}
    assert net_of(e.world, deal) == {
        e.consultant.pk: D("3500.00"), e.teacher1.pk: D("1166.67"),
        e.teacher2.pk: D("1166.67"), e.teacher3.pk: D("1166.66")}
    with e.world.context():
        saved = Deal.objects.get(pk=deal.pk)
        lines = list(DealCredit.objects.filter(refund=r))
        entry = AuditEntry.objects.get(action="deal.refund", target_id=deal.pk)
    assert saved.refunded_amount == D("3000.00") and saved.net_amount == D("7000.00")
    assert {(c.source, c.rule_version) for c in lines} == {("rules", e.rule_set.version)}
    assert all(c.amount < 0 and c.percent > 0 for c in lines)
    assert entry.reason == "家长退课" and entry.changes["amount"] == "3000.00"


def test_odd_partial_refund_rounds_to_the_cent_and_sums_exactly(edu, deal):
    e = edu
    r = refund(e, deal, "0.05")
    got = reversals(e.world, r)
    assert sum(got.values()) == D("-0.05")
    assert got[e.consultant.pk] in (D("-0.02"), D("-0.03"))


def test_refunds_adding_up_to_the_deal_bring_everyone_to_exactly_zero(edu, deal):
    e = edu
    refund(e, deal, "3333.33")
    refund(e, deal, "0.01")
    refund(e, deal, "6666.66")
    assert set(net_of(e.world, deal).values()) == {D("0.00")}
    with e.world.context():
        assert Deal.objects.get(pk=deal.pk).refunded_amount == D("10000.00")
    before = counts(e.world)
    with pytest.raises(ValidationError) as exc:
        refund(e, deal, "0.01")
    assert exc.value.message_dict == {"amount": ["该成交已全额退款。"]}
    assert counts(e.world) == before


def test_full_refund_at_once(edu, deal):
    e = edu
    refund(e, deal, "10000")
    assert set(net_of(e.world, deal).values()) == {D("0.00")}


def test_confiscated_credit_is_reversed_too(edu):
    from apps.disputes import services as disputes

    e = edu
    w = e.world
    dispute = disputes.dispute_open(tenant=w.tenant, actor=w.sales2, customer=e.customer,
                                    claimant=w.sales2)
    disputes.dispute_decide(tenant=w.tenant, actor=w.manager, dispute=dispute,
                            outcome="confiscate", note="充公")
    d = make_deal(e, amount="500")
    refund(e, d, "200")
    reversal = [row for row in credit_of(w, d) if row[5] is not None]
    assert [(row[0], row[3], row[4]) for row in reversal] == [(None, D("-200.00"), True)]
    assert net_of(w, d) == {None: D("300.00")}


def test_participants_and_credited_people_are_notified(edu, deal):
    e = edu
    w = e.world
    refund(e, deal, "1000", actor=w.manager)
    with w.context():
        notes = list(Notification.objects.order_by("recipient_id"))
    assert sorted(n.recipient_id for n in notes) == sorted(
        [e.consultant.pk, e.teacher1.pk, e.teacher2.pk, e.teacher3.pk])
    assert notes[0].title == f"成交 {deal.contract_number} 退款：1000.00"
    assert "按比例冲减" in notes[0].body and notes[0].url == f"/deals/{deal.pk}/"


# --------------------------------------------------------------------------- who may


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_admin_and_the_teams_manager_may_refund(edu, deal, role):
    r = refund(edu, deal, "100", actor=getattr(edu.world, role))
    assert r.pk


@pytest.mark.parametrize("role", ["sales", "sales2", "cs", "finance"])
def test_sales_customer_service_and_finance_may_not_refund(edu, deal, role):
    before = counts(edu.world)
    with pytest.raises(PermissionDenied):
        refund(edu, deal, "100", actor=getattr(edu.world, role))
    assert counts(edu.world) == before


def test_a_manager_of_another_team_may_not_refund(edu, deal):
    other = edu.world.make_staff("manager2", [Role.MANAGER], edu.world.team2)
    before = counts(edu.world)
    with pytest.raises(PermissionDenied):
        refund(edu, deal, "100", actor=other)
    assert counts(edu.world) == before


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(("kwargs", "field", "message"), [
    ({"amount": "0"}, "amount", "请输入大于 0 的金额。"),
    ({"amount": "-1"}, "amount", "请输入大于 0 的金额。"),
    ({"amount": "0.001"}, "amount", "金额最多两位小数。"),
    ({"amount": "10000.01"}, "amount", "最多还可退 10000.00。"),
    ({"reason": "   "}, "reason", "请填写退款原因。"),
    ({"day": "signing-1"}, "refunded_on", None),
    ({"day": "tomorrow"}, "refunded_on", "退款日期不能晚于今天。"),
])
def test_bad_refunds_are_refused_and_nothing_changes(edu, deal, kwargs, field, message):
    e = edu
    day = {"signing-1": deal.signed_on - dt.timedelta(days=1),
           "tomorrow": e.today + dt.timedelta(days=1)}.get(kwargs.get("day"))
    before = counts(e.world)
    with pytest.raises(ValidationError) as exc:
        refund(e, deal, kwargs.get("amount", "100"), day=day,
               reason=kwargs.get("reason", "家长退课"))
    assert field in exc.value.message_dict
    if message:
        assert exc.value.message_dict[field] == [message]
    assert counts(e.world) == before


def test_more_than_what_remains_after_a_partial_refund(edu, deal):
    e = edu
    refund(e, deal, "9000")
    before = counts(e.world)
    with pytest.raises(ValidationError) as exc:
        refund(e, deal, "1000.01")
    assert exc.value.message_dict == {"amount": ["最多还可退 1000.00。"]}
    assert counts(e.world) == before


def test_refund_check_previews_without_writing(edu, deal):
    e = edu
    before = counts(e.world)
    lines = services.refund_check(tenant=e.tenant, actor=e.world.admin, deal=deal,
                                  amount="3000", refunded_on=e.today, reason="退课")
    assert sorted(line.amount for line in lines) == [D("-1500.00"), D("-500.00"),
                                                    D("-500.00"), D("-500.00")]
    assert counts(e.world) == before
    with pytest.raises(ValidationError):
        services.refund_check(tenant=e.tenant, actor=e.world.admin, deal=deal,
                              amount="20000", refunded_on=e.today, reason="退课")


def test_deal_refund_goes_through_the_after_refund_hook(edu, deal, monkeypatch):
    """`after_refund(refund)` is the one explicit call later modules extend (no signals): the
    refund service calls it with the saved refund, inside its transaction."""
    e = edu
    seen = []
    real = services.after_refund

    def spy(refund_obj):
        seen.append((refund_obj.pk, refund_obj.deal.refunded_amount))
        return real(refund_obj)

    monkeypatch.setattr(services, "after_refund", spy)
    r = refund(e, deal, "100")
    assert seen == [(r.pk, D("100.00"))]
    with e.world.context():
        assert DealCredit.objects.filter(refund=r).count() == 4
