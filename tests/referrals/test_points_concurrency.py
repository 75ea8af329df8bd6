"""Points: two decisions at the same moment (real threads, committed rows)."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from apps.referrals import points
from apps.referrals.models import PointsEntry, PointsRedemption
from tests.concurrency import committed, run_together
from tests.conftest import TenantWorld
from tests.referrals.points_support import make_pts


def _world():
    return TenantWorld("tenant-a", "甲家居")


@committed
def test_two_approvals_at_once_never_overdraw():
    w = _world()
    pts = make_pts(w)
    pts.earn(pts.referrer, 200)
    a = pts.request(w.sales)
    b = pts.request(w.manager)
    # Only 100 left: the two pending requests together exceed the balance.
    points.points_adjust(tenant=w.tenant, actor=w.admin, referrer=pts.referrer, points=-100,
                         reason="纠正")
    results = run_together(lambda: pts.decide(w.manager, a), lambda: pts.decide(w.admin, b))
    kinds = sorted(kind for kind, _ in results)
    assert kinds == ["error", "ok"], results
    error = next(value for kind, value in results if kind == "error")
    assert isinstance(error, ValidationError)
    assert "积分不足" in " ".join(error.messages)
    assert pts.balance(pts.referrer) == 0
    with w.context():
        assert PointsEntry.objects.filter(kind="redeemed").count() == 1
        assert sorted(PointsRedemption.objects.values_list("status", flat=True)) == [
            "approved", "requested"]


@committed
def test_the_same_redemption_decided_twice_at_once():
    w = _world()
    pts = make_pts(w)
    pts.earn(pts.referrer, 300)
    r = pts.request(w.sales)
    results = run_together(lambda: pts.decide(w.manager, r),
                           lambda: pts.decide(w.admin, r, approve=False))
    assert sorted(kind for kind, _ in results) == ["error", "ok"], results
    error = next(value for kind, value in results if kind == "error")
    assert "已经处理过" in " ".join(error.messages)
    with w.context():
        row = PointsRedemption.objects.get(pk=r.pk)
        redeemed = PointsEntry.objects.filter(redemption=r).count()
    assert redeemed == (1 if row.status == "approved" else 0)
    assert pts.balance(pts.referrer) == (200 if row.status == "approved" else 300)


@committed
def test_two_requests_at_once_cannot_hold_more_than_the_balance():
    w = _world()
    pts = make_pts(w)
    pts.earn(pts.referrer, 150)
    results = run_together(lambda: pts.request(w.sales), lambda: pts.request(w.manager))
    assert sorted(kind for kind, _ in results) == ["error", "ok"], results
    with w.context():
        assert PointsRedemption.objects.count() == 1
