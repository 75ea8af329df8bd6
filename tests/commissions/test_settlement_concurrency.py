"""Two people calculate the same month at the same moment: the advisory lock and the unique
tenant-month key leave one settlement with one set of lines, the same as a single run."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from apps.commissions import settlements as svc
from apps.commissions.models import CommissionLine, Settlement
from apps.core.models import AuditEntry
from tests.concurrency import committed, run_together
from tests.deals.conftest import make_contract, make_deal


@committed
def test_two_calculations_at_the_same_moment_store_one_result(edu):
    e, w = edu, edu.world
    contract = make_contract(e, start=e.today - dt.timedelta(days=30))
    make_deal(e, kind="renewal", amount="100000.00", signed_on=e.today, renews=contract,
              participants=[(e.consultant, "consultant", ""), (e.advisor, "advisor", "")])

    results = run_together(
        lambda: svc.settlement_calculate(tenant=w.tenant, actor=w.finance, month=e.today),
        lambda: svc.settlement_calculate(tenant=w.tenant, actor=w.admin, month=e.today),
        lambda: svc.settlement_calculate(tenant=w.tenant, actor=None, month=e.today))

    assert [kind for kind, _ in results] == ["ok", "ok", "ok"], results
    assert sorted(s.runs for _, s in results) == [1, 2, 3]
    with w.context():
        settlement = Settlement.objects.get()
        lines = list(CommissionLine.objects.filter(settlement=settlement)
                     .order_by("position").values_list("staff_id", "kind", "result"))
        assert AuditEntry.objects.filter(
            action="commissions.settlement.calculate").count() == 3
    assert settlement.runs == 3 and settlement.status == "calculated"
    assert sorted(lines) == sorted([(e.consultant.pk, "pool", Decimal("1050.00")),
                                    (e.advisor.pk, "pool", Decimal("450.00"))])
    assert settlement.line_count == 2 and settlement.total == Decimal("1500.00")
