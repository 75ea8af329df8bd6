"""Two refunds of the same deal at the same moment, each in its own database connection: the
deal row lock makes the second one see the first, so together they never exceed the deal."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError

from apps.deals import services
from apps.deals.models import Deal, DealCredit, Refund
from tests.concurrency import committed, run_together

from .conftest import make_deal, net_of

D = Decimal


@committed
def test_two_refunds_at_once_cannot_exceed_the_deal(edu):
    e = edu
    deal = make_deal(e, amount="10000", participants=[(e.consultant, "consultant", ""),
                                                      (e.teacher1, "teacher", "")],
                     kind="renewal", renews=_contract(e))

    def refund(actor):
        return lambda: services.deal_refund(tenant=e.tenant, actor=actor, deal=deal,
                                            amount=D("6000"), refunded_on=e.today,
                                            reason="重复退款")

    results = run_together(refund(e.world.manager), refund(e.world.admin))
    assert sorted(kind for kind, _ in results) == ["error", "ok"], results
    error = next(value for kind, value in results if kind == "error")
    assert isinstance(error, ValidationError)
    assert error.message_dict == {"amount": ["最多还可退 4000.00。"]}
    with e.world.context():
        assert Deal.objects.get(pk=deal.pk).refunded_amount == D("6000.00")
        assert Refund.objects.filter(deal=deal).count() == 1
        assert DealCredit.objects.filter(deal=deal, refund__isnull=False).count() == 2
    assert sum(net_of(e.world, deal).values()) == D("4000.00")


@committed
def test_two_refunds_that_fit_together_both_pass_and_add_up(edu):
    e = edu
    deal = make_deal(e, amount="1000.00", participants=[
        (e.consultant, "consultant", ""), (e.teacher1, "teacher", ""),
        (e.teacher2, "teacher", ""), (e.teacher3, "teacher", "")],
        kind="renewal", renews=_contract(e))

    def refund(amount):
        return lambda: services.deal_refund(tenant=e.tenant, actor=e.world.admin, deal=deal,
                                            amount=D(amount), refunded_on=e.today, reason="退课")

    results = run_together(refund("333.33"), refund("666.67"))
    assert [kind for kind, _ in results] == ["ok", "ok"], results
    assert set(net_of(e.world, deal).values()) == {D("0.00")}


def _contract(e):
    from .conftest import make_contract

    return make_contract(e)
