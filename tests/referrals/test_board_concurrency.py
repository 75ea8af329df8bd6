"""Two managers record the same month's honour awards at the same moment: one set is stored."""

from __future__ import annotations

import datetime as dt

from apps.core.models import AuditEntry
from apps.notifications.models import Notification
from apps.referrals import board
from apps.referrals.models import HonourAward
from tests.concurrency import committed, run_together
from tests.referrals.board_support import (
    at,
    staff_referrer,
    successes,
)


@committed
def test_awards_recorded_once_when_run_concurrently(world_a):
    w = world_a
    successes(w, staff_referrer(w, w.sales), at(2025, 10, 2), 3)
    successes(w, staff_referrer(w, w.sales2), at(2025, 10, 3), 2)
    month = dt.date(2025, 10, 1)
    results = run_together(
        lambda: board.honour_awards_record(tenant=w.tenant, month=month, actor=w.manager),
        lambda: board.honour_awards_record(tenant=w.tenant, month=month, actor=w.admin),
        lambda: board.honour_awards_record(tenant=w.tenant, month=month))
    assert [kind for kind, _ in results] == ["ok", "ok", "ok"], results
    assert sorted(result.created for _, result in results) == [False, False, True]
    with w.context():
        assert list(HonourAward.objects.order_by("rank").values_list("rank", "staff_id")) == [
            (1, w.sales.pk), (2, w.sales2.pk)]
        assert AuditEntry.objects.filter(action="referral.honour_award").count() == 2
        assert Notification.objects.filter(recipient=w.sales).count() == 1
