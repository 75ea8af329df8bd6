"""customer_register and customer_claim: outcomes, refusals (with nothing changed), the policy's
caps and the former owner's wait, roles."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.core.models import AuditEntry
from apps.customers.models import Customer, CustomerRelation, OwnershipChange
from apps.customers.services import customer_owner_set
from apps.disputes.models import Dispute
from apps.notifications.models import Notification
from apps.ownership.models import OwnershipPolicy
from apps.ownership.registration import customer_claim, customer_register
from apps.ownership.selectors import local_midnight, tenant_today
from tests.customers.factories import make_id_number, next_phone

from .test_registration_check import contacted_days_ago, customer_of, fresh, pool_customer

pytestmark = pytest.mark.django_db


def register(world, actor, **kw):
    kw.setdefault("name", "王小明")
    kw.setdefault("phone", next_phone())
    return customer_register(tenant=world.tenant, actor=actor, **kw)


def claim(world, actor, customer, **kw):
    return customer_claim(tenant=world.tenant, actor=actor, customer=customer, **kw)


def policy(world, **kw):
    """A policy version in force since yesterday."""
    with world.context():
        n = OwnershipPolicy.objects.count()
        return OwnershipPolicy.objects.create(
            tenant=world.tenant, version=n + 1,
            effective_from=tenant_today(world.tenant) - dt.timedelta(days=1 + n), **kw)


def state(world):
    """Everything a registration or a claim could change."""
    with world.context():
        return (sorted(Customer.objects.values_list("id", "phone", "owner_id", "team_id",
                                                    "owned_since", "last_contact_at")),
                OwnershipChange.objects.count(), Dispute.objects.count(),
                CustomerRelation.objects.count(), AuditEntry.objects.count())


def changes(world, customer):
    with world.context():
        return list(OwnershipChange.objects.filter(customer=customer).order_by("at", "id")
                    .values_list("from_owner_id", "to_owner_id", "reason"))


def non_field(excinfo) -> list[str]:
    return excinfo.value.message_dict["__all__"]


# --------------------------------------------------------------------------- register


def test_register_new_person(world_a):
    w = world_a
    result = register(w, w.sales, name=" 王小明 ", phone="+86 137 0000 1111", gender="M",
                      source="referral", notes="朋友介绍")
    assert result.outcome == "registered" and result.dispute is None and result.match is None
    c = fresh(w, result.customer)
    assert (c.name, c.phone, c.gender, c.source, c.owner, c.team) == (
        "王小明", "13700001111", "M", "referral", w.sales, w.team1)
    assert c.owned_since is not None and c.last_contact_at is not None
    assert changes(w, c) == [(None, w.sales.pk, "registration")]


def test_register_with_id_number_fills_the_birthday(world_a):
    id_number = make_id_number(birth="19851203")
    result = register(world_a, world_a.sales, id_number=id_number)
    assert fresh(world_a, result.customer).birthday == dt.date(1985, 12, 3)


def test_register_related_to_an_existing_customer(world_a):
    w = world_a
    mine = customer_of(w, w.sales, name="老张")
    result = register(w, w.sales, name="小张", related_customer_phone=mine.phone,
                      relation_kind="child")
    with w.context():
        rel = CustomerRelation.objects.get()
        assert (rel.customer_id, rel.related_id, rel.kind, rel.created_by) == (
            result.customer.pk, mine.pk, "child", w.sales)


def test_register_brought_by_someone_elses_customer(world_a):
    """The referrer belongs to another salesperson: the relation is still recorded (by the
    system, on the registrar's behalf) and the new person is the registrar's."""
    w = world_a
    old = customer_of(w, w.sales2, name="老李")
    result = register(w, w.sales, name="小王", related_customer_phone=old.phone,
                      relation_kind="friend")
    assert result.outcome == "registered"
    with w.context():
        rel = CustomerRelation.objects.get()
        assert (rel.customer_id, rel.related_id, rel.kind) == (result.customer.pk, old.pk, "friend")
    assert fresh(w, old).owner == w.sales2


def test_manager_and_admin_register_for_themselves(world_a):
    w = world_a
    for staff in (w.manager, w.admin):
        result = register(w, staff)
        assert result.outcome == "registered"
        assert fresh(w, result.customer).owner == staff


def test_register_own_customer_is_already_yours(world_a):
    w = world_a
    c = customer_of(w, w.sales)
    before = state(w)
    result = register(w, w.sales, name="别的名字", phone=c.phone)
    assert result.outcome == "already_yours" and result.customer.pk == c.pk
    assert result.match.customer_id == c.pk
    assert state(w) == before


def test_register_pool_customer_claims_it(world_a):
    w = world_a
    c = pool_customer(w)
    result = register(w, w.sales, phone=c.phone, claim_note="客户来电")
    assert result.outcome == "claimed" and result.customer.pk == c.pk
    c = fresh(w, c)
    assert (c.owner, c.team, c.released_at) == (w.sales, w.team1, None)
    with w.context():
        change = OwnershipChange.objects.get(customer=c)
        assert (change.from_owner, change.to_owner, change.reason, change.note, change.actor) == (
            None, w.sales, "claim", "客户来电", w.sales)


def test_register_expired_customer_claims_it_and_tells_the_former_owner(world_a):
    w = world_a
    c = customer_of(w, w.sales2, name="周八")
    contacted_days_ago(w, c, 31)
    result = register(w, w.sales, phone=c.phone)
    assert result.outcome == "claimed"
    c = fresh(w, c)
    assert (c.owner, c.previous_owner) == (w.sales, w.sales2)
    assert changes(w, c)[-1] == (w.sales2.pk, w.sales.pk, "claim")
    with w.context():
        (note,) = Notification.objects.filter(recipient=w.sales2)
    assert note.title == f"{w.sales.name}在您的保护期结束后认领了周八"


@pytest.mark.parametrize("days_ago", [0, 29, 30])
def test_register_protected_customer_is_a_collision(world_a, days_ago):
    w = world_a
    c = customer_of(w, w.sales2, name="张三")
    contacted_days_ago(w, c, days_ago)
    before = state(w)
    # First without confirmation: nothing is written.
    result = register(w, w.sales, phone=c.phone, confirm_collision=False)
    assert result.outcome == "collision" and result.dispute is None and result.needs_confirmation
    assert (result.match.masked_name, result.match.owner_name, result.match.customer_id) == (
        "张*", w.sales2.name, None)
    assert state(w) == before
    # Confirmed: a dispute, the customer stays with its owner.
    result = register(w, w.sales, phone=c.phone, claim_note="上周就带客户看过房")
    assert result.outcome == "collision"
    d = result.dispute
    assert (d.customer_id, d.owner_id, d.claimant_id, d.status, d.claim) == (
        c.pk, w.sales2.pk, w.sales.pk, "open", "上周就带客户看过房")
    assert fresh(w, c).owner == w.sales2


def test_collision_by_name_and_last_four(world_a):
    w = world_a
    c = customer_of(w, w.sales2, name="王五", phone="13912341234")
    result = register(w, w.sales, name="王五", phone="13800001234")
    assert result.outcome == "collision" and result.dispute.customer_id == c.pk
    with w.context():
        assert not Customer.objects.filter(phone="13800001234").exists()


def test_second_collision_joins_the_open_dispute(world_a):
    w = world_a
    c = customer_of(w, w.sales2)
    first = register(w, w.sales, phone=c.phone).dispute
    second = register(w, w.sales, phone=c.phone).dispute
    assert first.pk == second.pk
    with w.context():
        assert Dispute.objects.count() == 1


@pytest.mark.parametrize(("kwargs", "errors"), [
    ({"phone": "12345"}, {"phone": ["请输入有效的中国大陆手机号。"]}),
    ({"phone": ""}, {"phone": ["请输入手机号。"]}),
    ({"name": "  "}, {"name": ["请输入客户姓名。"]}),
    ({"id_number": "110105199001011230"}, {"id_number": ["该身份证号的校验位不正确。"]}),
    ({"related_customer_phone": "13600009999", "relation_kind": "spouse"},
     {"related_customer_phone": ["没有客户使用这个手机号。"]}),
    ({"related_customer_phone": "abc"},
     {"related_customer_phone": ["手机号只能包含数字，例如 138 0013 8000。"],
      "relation_kind": ["请选择两人的关系。"]}),
    ({"relation_kind": "spouse"}, {"related_customer_phone": ["请输入关联老客户的手机号。"]}),
])
def test_bad_input_is_a_field_error_and_changes_nothing(world_a, kwargs, errors):
    w = world_a
    customer_of(w, w.sales)
    if kwargs.get("id_number"):
        good = make_id_number(seq="123", birth="19900101")
        kwargs["id_number"] = good[:-1] + ("0" if good[-1] != "0" else "1")
    before = state(w)
    with pytest.raises(ValidationError) as exc:
        register(w, w.sales, **kwargs)
    assert exc.value.message_dict == errors
    assert state(w) == before


def test_related_customer_cannot_be_the_person(world_a):
    phone = next_phone()
    with pytest.raises(ValidationError) as exc:
        register(world_a, world_a.sales, phone=phone, related_customer_phone=phone,
                 relation_kind="spouse")
    assert exc.value.message_dict == {
        "related_customer_phone": ["关联客户不能是正在登记的客户本人。"]}


@pytest.mark.parametrize("role", ["cs", "finance"])
def test_only_sales_managers_and_admins_register(world_a, role):
    w = world_a
    c = pool_customer(w)
    before = state(w)
    with pytest.raises(PermissionDenied) as exc:
        register(w, getattr(w, role))
    assert str(exc.value) == "只有销售（以及为自己登记的经理、管理员）可以报备和认领客户。"
    with pytest.raises(PermissionDenied):
        claim(w, getattr(w, role), c)
    assert state(w) == before


# --------------------------------------------------------------------------- claim


def test_claim_from_the_pool(world_a):
    w = world_a
    c = pool_customer(w)
    claimed = claim(w, w.sales_other_team, c, note="公海认领")
    assert claimed.owner == w.sales_other_team and fresh(w, c).team == w.team2
    assert changes(w, c) == [(None, w.sales_other_team.pk, "claim")]
    with w.context():
        assert AuditEntry.objects.filter(action="customer.owner.claim", target_id=c.pk).count() == 1


def test_claim_refusals_change_nothing(world_a):
    w = world_a
    mine = customer_of(w, w.sales)
    protected = customer_of(w, w.sales2, name="李四")
    contacted_days_ago(w, protected, 30)
    before = state(w)
    with pytest.raises(ValidationError) as exc:
        claim(w, w.sales, mine)
    assert non_field(exc) == ["该客户已经是您的客户。"]
    with pytest.raises(ValidationError) as exc:
        claim(w, w.sales, protected)
    today = tenant_today(w.tenant)
    assert non_field(exc) == [f"该客户在{w.sales2.name}的保护期内（至{today.year}年{today.month}月"
                              f"{today.day}日）；如有异议，请通过报备登记发起撞单申诉。"]
    assert state(w) == before


def test_claim_of_an_expired_customer(world_a):
    w = world_a
    c = customer_of(w, w.sales2)
    contacted_days_ago(w, c, 31)
    assert claim(w, w.sales, c).owner == w.sales


def test_daily_claim_cap(world_a):
    w = world_a
    policy(w, daily_claim_cap=2)
    a, b, c = pool_customer(w, "甲"), pool_customer(w, "乙"), pool_customer(w, "丙")
    # A claim yesterday (tenant time) does not count against today.
    old = pool_customer(w, "丁")
    claim(w, w.sales, old)
    with w.context():
        OwnershipChange.objects.filter(customer=old).update(
            at=local_midnight(w.tenant, tenant_today(w.tenant)) - dt.timedelta(minutes=1))
    claim(w, w.sales, a)
    claim(w, w.sales, b)
    before = state(w)
    with pytest.raises(ValidationError) as exc:
        claim(w, w.sales, c)
    assert non_field(exc) == ["您今天已认领2个客户，每天最多认领2个。"]
    assert state(w) == before
    # Registering the same pool customer is refused the same way; another person may claim.
    with pytest.raises(ValidationError):
        register(w, w.sales, phone=c.phone)
    assert state(w) == before
    assert claim(w, w.sales2, c).owner == w.sales2


def test_most_customers_per_owner(world_a):
    w = world_a
    customer_of(w, w.sales)
    customer_of(w, w.sales, name="李四")
    policy(w, max_customers_per_owner=2)
    c = pool_customer(w)
    before = state(w)
    with pytest.raises(ValidationError) as exc:
        claim(w, w.sales, c)
    assert non_field(exc) == ["您已拥有2个客户，上限为2个。"]
    assert state(w) == before


@pytest.mark.parametrize(("days_ago", "allowed"), [(0, False), (6, False), (7, True), (30, True)])
def test_former_owner_waits_before_reclaiming(world_a, days_ago, allowed):
    w = world_a
    c = customer_of(w, w.sales, name="钱九")
    customer_owner_set(tenant=w.tenant, actor=None, customer=c, owner=None, reason="release")
    lost_on = tenant_today(w.tenant) - dt.timedelta(days=days_ago)
    with w.context():
        OwnershipChange.objects.filter(customer=c, reason="release").update(
            at=local_midnight(w.tenant, lost_on) + dt.timedelta(hours=23))
    c = fresh(w, c)
    if allowed:
        assert claim(w, w.sales, c).owner == w.sales
        return
    before = state(w)
    with pytest.raises(ValidationError) as exc:
        claim(w, w.sales, c)
    back = lost_on + dt.timedelta(days=7)
    assert non_field(exc) == [f"您已于{lost_on.year}年{lost_on.month}月{lost_on.day}日失去该客户，"
                              f"{back.year}年{back.month}月{back.day}日起才能重新认领。"]
    assert state(w) == before
    # Anyone else may claim it meanwhile.
    assert claim(w, w.sales2, c).owner == w.sales2


def test_reclaim_wait_follows_the_policy(world_a):
    w = world_a
    policy(w, reclaim_after_days=0)
    c = customer_of(w, w.sales)
    customer_owner_set(tenant=w.tenant, actor=w.sales, customer=c, owner=None, reason="return")
    assert claim(w, w.sales, fresh(w, c)).owner == w.sales


def test_claim_records_the_policy_version(world_a):
    w = world_a
    p = policy(w, daily_claim_cap=5)
    c = pool_customer(w)
    claim(w, w.sales, c)
    with w.context():
        assert OwnershipChange.objects.get(customer=c).policy_version == p.version
