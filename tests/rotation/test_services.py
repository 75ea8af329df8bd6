"""Walk-in rotation services: sign-in, status, and walk_in_receive with its side effects
(customer, ownership history, visit, turn, notification, audit)."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.core.models import AuditEntry
from apps.customers.models import Customer, OwnershipChange
from apps.notifications.models import Notification
from apps.ownership.models import OwnershipPolicy, Visit
from apps.ownership.selectors import tenant_today
from apps.rotation.models import DutySignIn
from apps.rotation.rules import RouteCode
from apps.rotation.services import duty_set_status, duty_sign_in, walk_in_receive
from tests.customers.factories import CustomerFactory

from .conftest import backdate

pytestmark = pytest.mark.django_db


def receive(world, actor=None, team=None, **kw):
    kw.setdefault("name", "来访客户")
    kw.setdefault("phone", "13800138000")
    return walk_in_receive(tenant=world.tenant, actor=actor or world.manager,
                           team=team or world.team1, **kw)


def counts(world):
    with world.context():
        return (Customer.objects.count(), Visit.objects.count(), OwnershipChange.objects.count(),
                list(DutySignIn.objects.order_by("pk").values_list("status", "served_count",
                                                                    "last_served_at")))


# --------------------------------------------------------------------------- sign-in


def test_sign_in_positions_once_per_day(world_a):
    w = world_a
    a = duty_sign_in(tenant=w.tenant, actor=w.sales, team=w.team1)
    b = duty_sign_in(tenant=w.tenant, actor=w.manager, team=w.team1, staff=w.sales2)
    assert (a.position, b.position) == (1, 2)
    assert a.day == tenant_today(w.tenant) and a.status == DutySignIn.Status.PRESENT
    with pytest.raises(ValidationError) as exc:
        duty_sign_in(tenant=w.tenant, actor=w.sales, team=w.team1)
    assert exc.value.message_dict["staff"] == [f"{w.sales.name} 今天已签到。"]
    with w.context():
        assert DutySignIn.objects.count() == 2
        assert AuditEntry.objects.filter(action="rotation.sign_in").count() == 2


def test_sign_in_who_may(world_a):
    w = world_a
    with pytest.raises(PermissionDenied):  # a salesperson signs in only themselves
        duty_sign_in(tenant=w.tenant, actor=w.sales, team=w.team1, staff=w.sales2)
    with pytest.raises(PermissionDenied):  # the manager of team1 is not team2's
        duty_sign_in(tenant=w.tenant, actor=w.manager, team=w.team2, staff=w.sales_other_team)
    with pytest.raises(ValidationError) as exc:  # not a member of the team
        duty_sign_in(tenant=w.tenant, actor=w.manager, team=w.team1, staff=w.sales_other_team)
    assert exc.value.message_dict["staff"] == [f"{w.sales_other_team.name} 不是 一组 的成员。"]
    for who in (w.manager, w.cs):  # only salespeople take part
        with pytest.raises(ValidationError) as exc:
            duty_sign_in(tenant=w.tenant, actor=who, team=w.team1)
        assert exc.value.message_dict["staff"] == ["只有销售人员参加轮接。"]
    s = duty_sign_in(tenant=w.tenant, actor=w.admin, team=w.team2, staff=w.sales_other_team)
    assert s.position == 1
    with w.context():
        assert DutySignIn.objects.count() == 1


# --------------------------------------------------------------------------- status


def test_status_transitions(on_duty):
    w = on_duty.world
    s = on_duty.first
    s = duty_set_status(tenant=w.tenant, actor=w.sales, sign_in=s, status="away")
    assert s.status == "away"
    with pytest.raises(ValidationError) as exc:
        duty_set_status(tenant=w.tenant, actor=w.sales, sign_in=s, status="away")
    assert exc.value.message_dict["status"] == [f"{w.sales.name} 已经是“离开”状态。"]
    s = duty_set_status(tenant=w.tenant, actor=w.manager, sign_in=s, status="signed_out")
    with pytest.raises(ValidationError) as exc:
        duty_set_status(tenant=w.tenant, actor=w.sales, sign_in=s, status="away")
    assert exc.value.message_dict["status"] == [f"{w.sales.name} 不能从“已签退”改为“离开”。"]
    with pytest.raises(ValidationError):
        duty_set_status(tenant=w.tenant, actor=w.sales, sign_in=s, status="gone")
    s = duty_set_status(tenant=w.tenant, actor=w.sales, sign_in=s, status="present")
    assert s.status == "present" and s.position == 1
    with w.context():
        assert list(AuditEntry.objects.filter(action="rotation.status", target_id=s.pk)
                    .order_by("pk").values_list("changes", flat=True)) == [
            {"status": ["present", "away"]}, {"status": ["away", "signed_out"]},
            {"status": ["signed_out", "present"]}]


def test_salesperson_cannot_set_someone_elses_status(on_duty):
    w = on_duty.world
    before = counts(w)
    for actor in (w.sales2, w.sales_other_team, w.cs, w.finance):
        with pytest.raises(PermissionDenied):
            duty_set_status(tenant=w.tenant, actor=actor, sign_in=on_duty.first, status="away")
    assert counts(w) == before


def test_only_todays_sign_ins_change(world_a):
    w = world_a
    old = duty_sign_in(tenant=w.tenant, actor=w.sales, team=w.team1,
                       day=tenant_today(w.tenant) - dt.timedelta(days=1))
    with pytest.raises(ValidationError) as exc:
        duty_set_status(tenant=w.tenant, actor=w.sales, sign_in=old, status="away")
    assert exc.value.message_dict["status"] == ["只能修改今天的签到。"]


# --------------------------------------------------------------------------- walk-ins


def test_new_walk_ins_go_round_in_order_and_away_keeps_the_turn(on_duty):
    w = on_duty.world
    first = receive(w, phone="13800138001", name="甲")
    second = receive(w, phone="13800138002", name="乙")
    assert [first.route.received_by, second.route.received_by] == [w.sales.pk, w.sales2.pk]
    # The third salesperson steps away: skipped, keeps the turn.
    duty_set_status(tenant=w.tenant, actor=on_duty.sales4, sign_in=on_duty.third,
                    status="away")
    third = receive(w, phone="13800138003", name="丙")
    assert third.route.received_by == w.sales.pk
    on_duty.refresh()
    assert on_duty.third.last_served_at is None and on_duty.third.served_count == 0
    duty_set_status(tenant=w.tenant, actor=w.manager, sign_in=on_duty.third, status="present")
    fourth = receive(w, phone="13800138004", name="丁")
    assert fourth.route.received_by == on_duty.sales4.pk
    on_duty.refresh()
    assert [s.served_count for s in (on_duty.first, on_duty.second, on_duty.third)] == [2, 1, 1]

    with w.context():
        c = Customer.objects.get(phone="13800138001")
        assert (c.owner_id, c.team_id, c.source, c.created_by_id) == (
            w.sales.pk, w.team1.pk, Customer.Source.WALK_IN, w.manager.pk)
        assert c.last_visit_at is not None and c.owned_since is not None
        change = OwnershipChange.objects.get(customer=c)
        assert (change.reason, change.to_owner_id, change.actor_id) == (
            "walk_in", w.sales.pk, w.manager.pk)
        assert change.note == f"新客户，按轮接顺序由 {w.sales.name} 接待。"
        visit = Visit.objects.get(customer=c)
        assert (visit.kind, visit.route, visit.attributed_to_id, visit.received_by_id,
                visit.courtesy, visit.recorded_by_id, visit.team_id) == (
            "walk_in", RouteCode.ROTATION, w.sales.pk, w.sales.pk, False, w.manager.pk,
            w.team1.pk)
        entry = AuditEntry.objects.get(action="rotation.walk_in", target_id=visit.pk)
        assert entry.actor_id == w.manager.pk and entry.changes["route"] == "rotation"
        assert entry.changes["consumed_turn"] is True
        assert not Notification.objects.exists()  # everyone received their own customers


def test_named_salesperson_absent_is_a_courtesy_reception(on_duty):
    w = on_duty.world
    duty_set_status(tenant=w.tenant, actor=w.sales2, sign_in=on_duty.second, status="away")
    result = receive(w, actor=w.sales, named_staff=w.sales2, name="王五")
    r = result.route
    assert (r.code, r.attributed_to, r.received_by, r.courtesy, r.consumes_turn) == (
        RouteCode.NAMED_COURTESY, w.sales2.pk, w.sales.pk, True, False)
    on_duty.refresh()
    assert on_duty.first.served_count == 0 and on_duty.first.last_served_at is None
    with w.context():
        c = Customer.objects.get(phone="13800138000")
        assert c.owner_id == w.sales2.pk
        v = Visit.objects.get()
        assert (v.named_staff_id, v.received_by_id, v.attributed_to_id, v.courtesy) == (
            w.sales2.pk, w.sales.pk, w.sales2.pk, True)
        n = Notification.objects.get()
        assert (n.recipient_id, n.kind) == (w.sales2.pk, "walk_in")
        assert n.title == f"你的客户 王五 来访，由 {w.sales.name} 接待。"
        assert n.body == f"客户指定 {w.sales2.name}（不在场），由 {w.sales.name} 代为接待。"
        assert n.url == f"/customers/{c.pk}/"
    # The courtesy did not use the turn: the next new walk-in still goes to sales.
    assert receive(w, phone="13800138001").route.received_by == w.sales.pk


def test_old_customer_brings_a_new_one_to_an_absent_salesperson(on_duty):
    w = on_duty.world
    old = CustomerFactory(tenant=w.tenant, actor=w.sales_other_team, name="老客户")
    result = receive(w, brought_by=old, name="新朋友")
    assert (result.route.code, result.route.attributed_to, result.route.received_by) == (
        RouteCode.REFERRAL_COURTESY, w.sales_other_team.pk, w.sales.pk)
    with w.context():
        c = Customer.objects.get(phone="13800138000")
        assert (c.owner_id, c.team_id, c.source) == (
            w.sales_other_team.pk, w.team2.pk, Customer.Source.REFERRAL)
        v = Visit.objects.get()
        assert (v.kind, v.brought_by_id, v.courtesy) == ("brought", old.pk, True)
        assert Notification.objects.get().recipient_id == w.sales_other_team.pk


def test_old_customer_brings_a_new_one_to_a_present_salesperson(on_duty):
    w = on_duty.world
    old = CustomerFactory(tenant=w.tenant, actor=w.sales2)
    result = receive(w, brought_by=old, named_staff=on_duty.sales4)
    assert (result.route.code, result.route.received_by, result.route.courtesy) == (
        RouteCode.REFERRAL, w.sales2.pk, False)
    on_duty.refresh()
    assert on_duty.second.served_count == 0  # not a rotation assignment


@pytest.mark.parametrize(("days", "stays"), [(29, True), (30, True), (31, False)])
def test_revisit_window_boundary(on_duty, days, stays):
    w = on_duty.world
    known = CustomerFactory(tenant=w.tenant, actor=w.sales2, name="回头客")
    backdate(w, known, days=days)
    duty_set_status(tenant=w.tenant, actor=w.sales2, sign_in=on_duty.second, status="away")
    result = receive(w, phone=known.phone, name="")
    with w.context():
        known.refresh_from_db()
        history = list(OwnershipChange.objects.filter(customer=known).order_by("pk")
                       .values_list("reason", "from_owner_id", "to_owner_id"))
        visit = Visit.objects.get()
    assert not result.created
    if stays:
        assert result.route.code == RouteCode.REVISIT_OWNER_COURTESY
        assert known.owner_id == w.sales2.pk and history == [("registration", None, w.sales2.pk)]
        assert (visit.kind, visit.received_by_id, visit.courtesy) == ("revisit", w.sales.pk, True)
    else:
        assert result.route.code == RouteCode.NATURAL
        assert known.owner_id == w.sales.pk and known.previous_owner_id == w.sales2.pk
        assert history == [("registration", None, w.sales2.pk),
                           ("walk_in", w.sales2.pk, w.sales.pk)]
        assert (visit.kind, visit.received_by_id, visit.courtesy) == ("revisit", w.sales.pk, False)
        with w.context():  # the former owner is told (without a link to the customer)
            n = Notification.objects.get(recipient=w.sales2)
        assert n.title == f"你的客户 回头客 来访，现归 {w.sales.name} 所有。" and n.url == ""
    assert known.last_visit_at == visit.at


def test_revisit_window_comes_from_the_policy(on_duty):
    w = on_duty.world
    with w.context():
        OwnershipPolicy.objects.create(tenant=w.tenant, version=1, revisit_window_days=7,
                                       effective_from=tenant_today(w.tenant))
    known = CustomerFactory(tenant=w.tenant, actor=on_duty.sales4)
    backdate(w, known, days=8)
    result = receive(w, phone=known.phone)
    assert result.route.code == RouteCode.NATURAL
    with w.context():
        assert OwnershipChange.objects.filter(customer=known).latest("pk").policy_version == 1


def test_pool_customer_goes_to_next_in_turn(on_duty):
    w = on_duty.world
    pooled = CustomerFactory(tenant=w.tenant, actor=w.cs, name="公海客户")  # no owner
    result = receive(w, actor=w.sales2, phone=pooled.phone)
    assert (result.route.code, result.route.received_by) == (RouteCode.ROTATION_POOL, w.sales.pk)
    with w.context():
        pooled.refresh_from_db()
        assert pooled.owner_id == w.sales.pk and pooled.released_at is None
        assert OwnershipChange.objects.get(customer=pooled).reason == "walk_in"


def test_nobody_present_is_refused_and_nothing_changes(on_duty):
    w = on_duty.world
    for s in (on_duty.first, on_duty.second, on_duty.third):
        duty_set_status(tenant=w.tenant, actor=w.manager, sign_in=s, status="away")
    before = counts(w)
    with pytest.raises(ValidationError) as exc:
        receive(w)
    assert exc.value.message_dict["__all__"] == [
        "本组当前无人在岗接待：请先签到或将某人设为在岗。"]
    assert counts(w) == before


@pytest.mark.parametrize("who", ["cs", "finance", "sales_other_team"])
def test_who_may_not_record_walk_ins(on_duty, who):
    w = on_duty.world
    before = counts(w)
    with pytest.raises(PermissionDenied):
        receive(w, actor=getattr(w, who))
    assert counts(w) == before


def test_input_errors_are_field_errors(on_duty):
    w = on_duty.world
    old = CustomerFactory(tenant=w.tenant, actor=w.sales2, phone="13900000999")
    before = counts(w)
    with pytest.raises(ValidationError) as exc:
        receive(w, phone="123", notes="x" * 501, named_staff=w.cs)
    assert set(exc.value.message_dict) == {"phone", "notes", "named_staff"}
    with pytest.raises(ValidationError) as exc:
        receive(w, phone=old.phone, brought_by=old)
    assert exc.value.message_dict["brought_by"] == ["客户不能带自己来访。"]
    with pytest.raises(ValidationError) as exc:  # a new customer needs a name
        receive(w, name="")
    assert "name" in exc.value.message_dict
    assert counts(w) == before


def test_known_customer_keeps_their_record(on_duty):
    """A walk-in of a known phone never creates a second customer or renames the first."""
    w = on_duty.world
    known = CustomerFactory(tenant=w.tenant, actor=w.sales, name="原名")
    result = receive(w, actor=w.sales2, phone=known.phone, name="别的名字")
    assert not result.created and result.customer.pk == known.pk
    with w.context():
        assert Customer.objects.get().name == "原名"


def test_sales_member_of_the_team_records(on_duty):
    w = on_duty.world
    result = receive(w, actor=w.sales2)
    assert result.route.received_by == w.sales.pk
    with w.context():
        assert Visit.objects.get().recorded_by_id == w.sales2.pk
