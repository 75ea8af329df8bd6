"""A worker killed (SIGKILL) in the middle of a month's settlement: the month is exactly as it
was before, and calculating it again completes.

The calculation runs in a child process against the test database. The parent holds a SHARE
lock on the notifications table, so the child stops at its very last write (telling the
managers), after it has replaced the month's lines and saved the settlement -- all in one
uncommitted transaction -- and is killed there."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

from django.db import connections

from apps.commissions import settlements as svc
from apps.commissions.models import CommissionLine, Settlement
from apps.core.models import AuditEntry
from tests.concurrency import committed
from tests.deals.conftest import make_contract, make_deal

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import datetime as dt, sys
import django
django.setup()
from apps.commissions.settlements import settlement_calculate
from apps.tenancy.models import Tenant
settlement_calculate(tenant=Tenant.objects.get(pk=int(sys.argv[1])), actor=None,
                     month=dt.date.fromisoformat(sys.argv[2]))
print("finished", flush=True)
"""

LOCKS_OF = """
SELECT l.pid, c.relname, l.mode, l.granted FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
WHERE l.pid = %s AND c.relname IN ('notifications_notification', 'commissions_commissionline')
"""
WAITING = """
SELECT l.pid FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
WHERE NOT l.granted AND c.relname = 'notifications_notification' AND l.pid <> pg_backend_pid()
"""


def month_state(world) -> tuple:
    with world.context():
        s = Settlement.objects.get()
        lines = list(CommissionLine.objects.filter(settlement=s).order_by("position")
                     .values_list("staff_id", "kind", "result"))
        audits = AuditEntry.objects.filter(action="commissions.settlement.calculate").count()
    return (s.status, s.runs, s.total, s.line_count, s.calculated_at, lines, audits)


def wait_for(query, args, timeout=60.0):
    deadline = time.monotonic() + timeout
    with connections["default"].cursor() as cur:
        while time.monotonic() < deadline:
            cur.execute(query, args)
            rows = cur.fetchall()
            if rows:
                return rows
            time.sleep(0.1)
    return []


@committed
def test_a_worker_killed_during_the_settlement_leaves_the_month_as_it_was(edu):
    e, w = edu, edu.world
    contract = make_contract(e, start=e.today - dt.timedelta(days=30))
    make_deal(e, kind="renewal", amount="100000.00", signed_on=e.today, renews=contract,
              participants=[(e.consultant, "consultant", ""), (e.advisor, "advisor", "")])
    svc.settlement_calculate(tenant=w.tenant, actor=w.finance, month=e.today)
    before = month_state(w)
    assert before[1] == 1 and before[2] == Decimal("1500.00")
    # (A completed recalculation changes the month: its run number and calculation time.)

    blocker = connections.create_connection("default")
    child = None
    try:
        blocker.set_autocommit(False)
        with blocker.cursor() as cur:
            cur.execute("LOCK TABLE notifications_notification IN SHARE MODE")
        env = {**os.environ, "DATABASE_NAME_OVERRIDE": connections["default"].settings_dict["NAME"]}
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(w.tenant.pk),
                                  e.today.isoformat()], cwd=ROOT, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        waiting = wait_for(WAITING, [])
        assert waiting, f"the calculation never reached its last write: {child.poll()}"
        backend = waiting[0][0]
        # It has written: it holds the lines' write lock, and waits to tell the managers.
        held = {(rel, mode, granted) for _pid, rel, mode, granted in wait_for(LOCKS_OF, [backend])}
        assert ("commissions_commissionline", "RowExclusiveLock", True) in held, held

        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=10) == -signal.SIGKILL
    finally:
        if child is not None and child.poll() is None:
            child.kill()
        blocker.rollback()
        blocker.close()
    # The orphaned server process ends once it finds its client gone; its transaction with it.
    deadline = time.monotonic() + 30
    with connections["default"].cursor() as cur:
        while time.monotonic() < deadline:
            cur.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [backend])
            if cur.fetchone()[0] == 0:
                break
            time.sleep(0.1)
    assert month_state(w) == before

    again = svc.settlement_calculate(tenant=w.tenant, actor=w.finance, month=e.today)
    after = month_state(w)
    assert again.runs == 2 and after[0] == "calculated" and after[6] == before[6] + 1
    assert after[4] > before[4] and after[5] == before[5]
