"""Two deals entered at the same moment with the same contract number, each in its own database
connection: one is saved, the other gets the duplicate-number field error (the unique key's
IntegrityError inside a savepoint), and nothing of it is left behind."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError

from apps.deals import services
from apps.deals.models import Deal, DealCredit, DealParticipant
from tests.concurrency import committed, run_together


@committed
def test_the_same_contract_number_twice_at_once(edu):
    e = edu

    def enter(actor, teacher):
        return lambda: services.deal_create(
            tenant=e.tenant, actor=actor, customer=e.customer, kind="new",
            amount=Decimal("5000"), signed_on=e.today, contract_number="HT-RACE",
            participants=[(e.consultant, "consultant", ""), (teacher, "teacher", "")])

    results = run_together(enter(e.world.admin, e.teacher1), enter(e.world.manager, e.teacher2))
    assert sorted(kind for kind, _ in results) == ["error", "ok"], results
    error = next(value for kind, value in results if kind == "error")
    assert isinstance(error, ValidationError)
    assert error.message_dict == {"contract_number": ["合同编号 HT-RACE 已被使用。"]}
    with e.world.context():
        deal = Deal.objects.get(contract_number="HT-RACE")
        assert Deal.objects.count() == 1
        assert DealParticipant.objects.count() == 2
        assert DealCredit.objects.filter(deal=deal).count() == 2
        assert sum(DealCredit.objects.values_list("amount", flat=True)) == Decimal("5000.00")
