"""Points ledger and redemptions: services (apps.referrals.points)."""

from __future__ import annotations

import random

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.core.models import AuditEntry
from apps.notifications.models import Notification
from apps.referrals import points
from apps.referrals.models import PointsEntry, PointsItem, PointsRedemption
from tests.referrals.points_support import pts_fixture

pts = pts_fixture

pytestmark = pytest.mark.django_db


def _rows_sum(world, referrer):
    with world.context():
        return sum(PointsEntry.objects.filter(referrer=referrer).values_list("points", flat=True))


def test_balance_is_the_sum_after_earns_adjustments_and_redemptions(pts):
    w = pts.world
    assert pts.balance(pts.referrer) == 0
    pts.earn(pts.referrer, 150)
    pts.earn(pts.referrer, 50)
    points.points_adjust(tenant=w.tenant, actor=w.manager, referrer=pts.referrer, points=-20,
                         reason="录错")
    r = pts.request(w.sales)
    pts.decide(w.manager, r)
    assert pts.balance(pts.referrer) == 80 == _rows_sum(w, pts.referrer)
    with w.context():
        kinds = list(PointsEntry.objects.filter(referrer=pts.referrer)
                     .order_by("created_at", "id").values_list("kind", "points"))
    assert kinds == [("earned", 150), ("earned", 50), ("adjusted", -20), ("redeemed", -100)]
    # Another referrer's rows do not count.
    assert pts.balance(pts.other_referrer) == 0


def test_random_operations_keep_balance_equal_to_the_rows(pts):
    w = pts.world
    rng = random.Random(5)
    referrers = [pts.referrer, pts.staff_referrer]
    for _ in range(40):
        referrer = rng.choice(referrers)
        op = rng.choice(["earn", "adjust", "expire", "request", "decide"])
        try:
            if op == "earn":
                pts.earn(referrer, rng.randint(1, 200))
            elif op == "adjust":
                points.points_adjust(tenant=w.tenant, actor=w.admin, referrer=referrer,
                                     points=rng.choice([-1, 1]) * rng.randint(1, 150),
                                     reason="随机")
            elif op == "expire":
                points.points_expire(tenant=w.tenant, actor=None, referrer=referrer,
                                     points=rng.randint(1, 80))
            elif op == "request":
                pts.request(w.manager, referrer=referrer)
            else:
                with w.context():
                    pending = list(PointsRedemption.objects.filter(status="requested"))
                if pending:
                    pts.decide(w.manager, rng.choice(pending), approve=rng.random() < 0.7)
        except ValidationError:
            pass  # refused (over the balance, below zero): nothing written
        for r in referrers:
            balance = pts.balance(r)
            assert balance == _rows_sum(w, r)
            assert balance >= 0


def test_redemption_over_the_available_balance_is_refused(pts):
    w = pts.world
    pts.earn(pts.referrer, 150)
    with pytest.raises(ValidationError) as exc:
        pts.request(w.sales, item=pts.big_item)
    assert "积分不足" in str(exc.value.message_dict["item"])
    first = pts.request(w.sales)
    # 150 - 100 held = 50 available: a second 100-point request is refused.
    with pytest.raises(ValidationError):
        pts.request(w.sales)
    with w.context():
        assert list(PointsRedemption.objects.values_list("pk", flat=True)) == [first.pk]
        assert points.points_held(pts.referrer) == 100
        assert points.points_available(pts.referrer) == 50
    assert pts.balance(pts.referrer) == 150


def test_approve_writes_redeemed_row_and_notifies_requester(pts):
    w = pts.world
    pts.earn(pts.referrer, 120)
    r = pts.request(w.sales, note="请尽快")
    row = pts.decide(w.manager, r, note="同意")
    assert row.status == "approved" and row.decided_by == w.manager
    with w.context():
        entry = PointsEntry.objects.get(redemption=r)
        assert (entry.kind, entry.points, entry.created_by) == ("redeemed", -100, w.manager)
        note = Notification.objects.get(recipient=w.sales)
        assert "带薪休假一天" in note.title
        assert AuditEntry.objects.filter(action="points.redemption_decide").count() == 1
    assert pts.balance(pts.referrer) == 20


def test_reject_writes_nothing_to_the_ledger(pts):
    w = pts.world
    pts.earn(pts.referrer, 120)
    r = pts.request(w.sales)
    pts.decide(w.admin, r, approve=False, note="不符合")
    with w.context():
        assert PointsEntry.objects.filter(referrer=pts.referrer).count() == 1
        assert PointsRedemption.objects.get(pk=r.pk).status == "rejected"
        assert points.points_held(pts.referrer) == 0
    assert pts.balance(pts.referrer) == 120


def test_deciding_twice_is_refused_and_nothing_changes(pts):
    w = pts.world
    pts.earn(pts.referrer, 300)
    r = pts.request(w.sales)
    pts.decide(w.manager, r)
    for approve in (True, False):
        with pytest.raises(ValidationError) as exc:
            pts.decide(w.admin, r, approve=approve)
        assert "已经处理过" in " ".join(exc.value.messages)
    with w.context():
        row = PointsRedemption.objects.get(pk=r.pk)
        assert (row.status, row.decided_by) == ("approved", w.manager)
        assert PointsEntry.objects.filter(redemption=r).count() == 1
    assert pts.balance(pts.referrer) == 200


def test_approval_refused_when_balance_no_longer_covers_it(pts):
    w = pts.world
    pts.earn(pts.referrer, 200)
    a = pts.request(w.sales)
    b = pts.request(w.manager)
    points.points_adjust(tenant=w.tenant, actor=w.admin, referrer=pts.referrer, points=-100,
                         reason="纠正")
    pts.decide(w.manager, a)
    with pytest.raises(ValidationError):
        pts.decide(w.manager, b)
    with w.context():
        assert PointsRedemption.objects.get(pk=b.pk).status == "requested"
    assert pts.balance(pts.referrer) == 0


def test_roles(pts):
    w = pts.world
    pts.earn(pts.referrer, 500)
    pts.earn(pts.other_referrer, 500)
    r = pts.request(w.sales)
    for who in (w.sales, w.sales2, w.cs, w.finance):
        with pytest.raises(PermissionDenied):
            pts.decide(who, r)
        with pytest.raises(PermissionDenied):
            points.points_adjust(tenant=w.tenant, actor=who, referrer=pts.referrer, points=5,
                                 reason="x")
    # Sales only for their own customers or themselves.
    with pytest.raises(PermissionDenied):
        pts.request(w.sales, referrer=pts.other_referrer)
    with pytest.raises(PermissionDenied):
        pts.request(w.sales2, referrer=pts.referrer)
    pts.earn(pts.staff_referrer, 100)
    pts.request(w.sales2, referrer=pts.staff_referrer)
    for who in (w.cs, w.finance):
        with pytest.raises(PermissionDenied):
            pts.request(who)
    pts.request(w.manager, referrer=pts.other_referrer)
    with pytest.raises(PermissionDenied):
        points.points_item_create(tenant=w.tenant, actor=w.manager, name="x", points=1)
    with w.context():
        assert PointsRedemption.objects.count() == 3
        assert PointsRedemption.objects.get(pk=r.pk).status == "requested"
        assert not PointsItem.objects.filter(name="x").exists()


def test_adjust_and_expire_validation(pts):
    w = pts.world
    pts.earn(pts.referrer, 50)
    with pytest.raises(ValidationError) as exc:
        points.points_adjust(tenant=w.tenant, actor=w.manager, referrer=pts.referrer, points=0,
                             reason="")
    assert set(exc.value.message_dict) == {"points", "reason"}
    with pytest.raises(ValidationError):
        points.points_adjust(tenant=w.tenant, actor=w.manager, referrer=pts.referrer,
                             points=-51, reason="太多")
    with pytest.raises(ValidationError):
        points.points_expire(tenant=w.tenant, actor=None, referrer=pts.referrer, points=60)
    points.points_expire(tenant=w.tenant, actor=None, referrer=pts.referrer, points=30,
                         reason="到期")
    assert pts.balance(pts.referrer) == 20
    with pytest.raises(ValidationError):
        pts.earn(pts.referrer, 0)


def test_a_referral_earns_once(pts):
    from apps.referrals.models import Referral
    w = pts.world
    with w.context():
        referral = Referral.objects.create(tenant=w.tenant, referrer=pts.referrer,
                                           channel="staff", name="新客", phone="13900009999")
    points.points_earn(tenant=w.tenant, actor=None, referrer=pts.referrer, points=100,
                       referral=referral, reason="转介绍成交")
    with pytest.raises(ValidationError):
        points.points_earn(tenant=w.tenant, actor=None, referrer=pts.referrer, points=100,
                           referral=referral)
    with pytest.raises(ValidationError):
        points.points_earn(tenant=w.tenant, actor=None, referrer=pts.other_referrer, points=5,
                           referral=referral)
    assert pts.balance(pts.referrer) == 100
    assert pts.balance(pts.other_referrer) == 0


def test_items_create_update_and_inactive_items_cannot_be_requested(pts):
    w = pts.world
    with pytest.raises(ValidationError) as exc:
        points.points_item_create(tenant=w.tenant, actor=w.admin, name=" ", points=0)
    assert set(exc.value.message_dict) == {"name", "points"}
    item = points.points_item_update(tenant=w.tenant, actor=w.admin, item=pts.item,
                                     name="休假", points=80, active=False)
    assert (item.name, item.points, item.active) == ("休假", 80, False)
    pts.earn(pts.referrer, 500)
    with pytest.raises(ValidationError) as exc:
        pts.request(w.sales, item=item)
    assert "item" in exc.value.message_dict


def test_the_ledger_has_no_update_or_delete_service():
    assert not [name for name in dir(points)
                if name.startswith("points_") and any(w in name for w in ("update_entry",
                                                                          "delete", "remove"))]


def test_the_admin_is_read_only(rf, world_a):
    from django.contrib import admin

    from apps.referrals.admin_points import (
        PointsEntryAdmin,
        PointsItemAdmin,
        PointsRedemptionAdmin,
    )
    request = rf.get("/admin/")
    request.user = world_a.admin.user
    request.staff, request.tenant = world_a.admin, world_a.tenant
    for cls, model in ((PointsEntryAdmin, PointsEntry), (PointsItemAdmin, PointsItem),
                       (PointsRedemptionAdmin, PointsRedemption)):
        model_admin = cls(model, admin.site)
        assert not model_admin.has_add_permission(request)
        assert not model_admin.has_change_permission(request)
        assert not model_admin.has_delete_permission(request)
