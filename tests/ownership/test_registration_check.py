"""registration_check: every kind of match, what each role may see, the verdicts and the
day-29/30/31 boundaries of the protection window, and its query budget.

The helpers at the top are imported by the other test_registration_* modules."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.customers.models import Customer
from apps.customers.services import relation_add
from apps.ownership.registration import (
    KIND_ID_NUMBER,
    KIND_NAME_LAST4,
    KIND_PHONE,
    KIND_RELATED_CUSTOMER,
    KIND_RELATIVE,
    registration_check,
)
from apps.ownership.selectors import local_midnight, tenant_today
from tests.customers.factories import CustomerFactory, make_id_number, next_phone

pytestmark = pytest.mark.django_db


# --------------------------------------------------------------------------- helpers


def customer_of(world, staff, name="张三", **kw) -> Customer:
    """A customer registered by `staff` (owned by them when they are a salesperson; customer
    service registers unowned customers, i.e. the public pool)."""
    return CustomerFactory(tenant=world.tenant, actor=staff, name=name, **kw)


def pool_customer(world, name="孙七", **kw) -> Customer:
    return customer_of(world, world.cs, name=name, **kw)


def contacted_days_ago(world, customer, days: int) -> None:
    """Last effective contact at noon (Asia/Shanghai) `days` days before today."""
    day = tenant_today(world.tenant) - dt.timedelta(days=days)
    with world.context():
        Customer.objects.filter(pk=customer.pk).update(
            last_contact_at=local_midnight(world.tenant, day) + dt.timedelta(hours=12))


def fresh(world, customer) -> Customer:
    with world.context():
        return Customer.objects.select_related("owner", "team", "previous_owner").get(pk=customer.pk)


def check(world, staff, **kw):
    with world.context():
        return registration_check(staff, **kw)


def today_plus(world, days: int) -> dt.date:
    return tenant_today(world.tenant) + dt.timedelta(days=days)


# --------------------------------------------------------------------------- nothing / new


def test_nothing_typed_is_not_searched(world_a):
    result = check(world_a, world_a.sales)
    assert result.searched is False and result.verdict == "new" and result.matches == ()


def test_partial_phone_finds_nothing(world_a):
    c = customer_of(world_a, world_a.sales2, phone="13912345678")
    for partial in ("139", "1391234", "1391234567"):
        result = check(world_a, world_a.sales, phone=partial)
        assert result.matches == () and result.verdict == "new", partial
    assert check(world_a, world_a.sales, phone=c.phone).verdict == "collision"


def test_complete_but_invalid_phone_says_why(world_a):
    result = check(world_a, world_a.sales, phone="23800138000")
    assert result.searched is False
    assert result.input_errors == {"phone": ["请输入有效的中国大陆手机号。"]}


def test_new_person(world_a):
    customer_of(world_a, world_a.sales2)
    result = check(world_a, world_a.sales, phone=next_phone(), name="王小明")
    assert result.searched and result.verdict == "new"
    assert result.matches == () and result.primary is None
    assert str(result.verdict_label) == "新客户：登记后归您所有。"


# --------------------------------------------------------------------------- match kinds


def test_same_phone_formats_normalised(world_a):
    c = customer_of(world_a, world_a.sales, phone="13800138000")
    result = check(world_a, world_a.sales, phone="+86 138-0013-8000")
    assert result.verdict == "mine"
    assert [(m.kind, m.customer_id, m.name) for m in result.matches] == [(KIND_PHONE, c.pk, "张三")]
    assert result.primary.kind_label == "手机号相同"


def test_same_id_number(world_a):
    id_number = make_id_number(seq="321")
    c = customer_of(world_a, world_a.sales2, name="李四", id_number=id_number)
    result = check(world_a, world_a.sales, id_number=id_number.lower())
    assert result.verdict == "collision"
    (m,) = result.matches
    assert (m.kind, m.masked_name, m.owner_name) == (KIND_ID_NUMBER, "李*", world_a.sales2.name)
    assert m.customer_id is None and m.name == "李*"
    assert c.pk  # (only the masked view above)


def test_same_name_and_last_four_digits(world_a):
    c = customer_of(world_a, world_a.sales2, name="王五", phone="13912341234")
    for phone in ("13800001234", "1234"):   # another number with the same last four, or just them
        result = check(world_a, world_a.sales, name=" 王五 ", phone=phone)
        assert [m.kind for m in result.matches] == [KIND_NAME_LAST4], phone
        assert result.verdict == "collision"
        assert result.primary.kind_label == "姓名相同且手机号后四位相同"
    # Same name, other last four; same last four, other name: no match.
    assert check(world_a, world_a.sales, name="王五", phone="13800004321").matches == ()
    assert check(world_a, world_a.sales, name="王六", phone="13800001234").matches == ()
    assert c.pk


def test_one_customer_matching_several_ways_is_one_match(world_a):
    id_number = make_id_number(seq="555")
    c = customer_of(world_a, world_a.sales, name="赵六", phone="13700005555", id_number=id_number)
    result = check(world_a, world_a.sales, phone=c.phone, id_number=id_number, name="赵六")
    (m,) = result.matches
    assert m.kind == KIND_PHONE and m.kinds == (KIND_PHONE, KIND_ID_NUMBER, KIND_NAME_LAST4)


def test_phone_match_decides_over_other_matches(world_a):
    """Phone is mine, ID belongs to someone else's customer: the verdict is about the phone."""
    mine = customer_of(world_a, world_a.sales, name="甲")
    other_id = make_id_number(seq="777")
    customer_of(world_a, world_a.sales2, name="乙", id_number=other_id)
    result = check(world_a, world_a.sales, phone=mine.phone, id_number=other_id)
    assert result.verdict == "mine" and result.primary.customer_id == mine.pk
    assert [m.kind for m in result.matches] == [KIND_PHONE, KIND_ID_NUMBER]


def test_relatives_of_a_matching_customer(world_a):
    w = world_a
    husband = customer_of(w, w.sales2, name="陈大文")
    wife = customer_of(w, w.sales_other_team, name="林美丽")
    son = customer_of(w, w.sales, name="陈小文")
    colleague = customer_of(w, w.sales, name="周同事")
    relation_add(tenant=w.tenant, actor=w.admin, customer=wife, related=husband, kind="spouse")
    relation_add(tenant=w.tenant, actor=w.admin, customer=husband, related=son, kind="parent")
    relation_add(tenant=w.tenant, actor=w.admin, customer=colleague, related=husband,
                 kind="colleague")
    result = check(w, w.sales, phone=husband.phone)
    assert result.verdict == "collision" and result.primary.masked_name == "陈**"
    relatives = {m.masked_name: m for m in result.matches if m.kind == KIND_RELATIVE}
    assert set(relatives) == {"林**", "陈**"}    # the colleague is not family
    wife_m = relatives["林**"]
    assert (wife_m.relation, wife_m.relation_label, wife_m.relative_of) == ("spouse", "配偶", "陈**")
    assert wife_m.owner_name == w.sales_other_team.name and wife_m.customer_id is None
    assert wife_m.kind_label == "匹配客户的亲属"
    # The son is the salesperson's own customer: shown in full, with the link.
    son_m = next(m for m in result.matches if m.customer_id == son.pk)
    assert (son_m.name, son_m.relation, son_m.is_mine, son_m.verdict) == ("陈小文", "child", True, "mine")


def test_related_phone_names_an_existing_customer(world_a):
    old = customer_of(world_a, world_a.sales2, name="老客户")
    result = check(world_a, world_a.sales, phone=next_phone(), name="新客户",
                   related_phone=old.phone)
    assert result.verdict == "new"   # the person being registered is still new
    (m,) = result.matches
    assert (m.kind, m.masked_name, m.owner_name, m.customer_id) == (
        KIND_RELATED_CUSTOMER, "老**", world_a.sales2.name, None)
    assert m.kind_label == "您填写的关联老客户"


# --------------------------------------------------------------------------- who sees what


def test_salesperson_sees_masked_name_and_owner_never_contact_details(world_a):
    id_number = make_id_number(seq="901")
    c = customer_of(world_a, world_a.sales2, name="张三丰", id_number=id_number)
    (m,) = check(world_a, world_a.sales, phone=c.phone).matches
    assert m.name == m.masked_name == "张**"
    assert m.owner_name == world_a.sales2.name
    assert m.customer_id is None and m.is_mine is False and m.in_pool is False
    assert m.protected_until == today_plus(world_a, 30)
    text = repr(m)
    assert "张三丰" not in text and id_number not in text and c.phone not in text


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_admin_and_team_manager_see_the_customer(world_a, role):
    c = customer_of(world_a, world_a.sales2, name="张三")
    (m,) = check(world_a, getattr(world_a, role), phone=c.phone).matches
    assert (m.customer_id, m.name, m.masked_name) == (c.pk, "张三", "张*")
    assert m.verdict == "collision"


def test_manager_of_another_team_sees_masked(world_a):
    c = customer_of(world_a, world_a.sales_other_team, name="张三")
    (m,) = check(world_a, world_a.manager, phone=c.phone).matches
    assert (m.customer_id, m.name) == (None, "张*")


def test_other_tenant_is_never_matched(world_a, world_b):
    c = customer_of(world_b, world_b.sales, name="张三", phone="13600001111")
    assert check(world_a, world_a.sales, phone=c.phone, name="张三").matches == ()


# --------------------------------------------------------------------------- verdicts


def test_pool_customer_is_claimable(world_a):
    c = pool_customer(world_a)
    result = check(world_a, world_a.sales, phone=c.phone)
    assert result.verdict == "pool" and result.claimable
    (m,) = result.matches
    assert (m.in_pool, m.owner_name, m.protected_until, m.customer_id) == (True, "", None, None)
    assert result.verdict_label == "在公海中：登记即为您认领。"


@pytest.mark.parametrize(("days_ago", "verdict", "ends_in"), [
    (29, "collision", 1),    # protected through day 30
    (30, "collision", 0),    # the last protected day
    (31, "expired", -1),     # protection over (the nightly job releases it today)
])
def test_protection_boundaries(world_a, days_ago, verdict, ends_in):
    c = customer_of(world_a, world_a.sales2)
    contacted_days_ago(world_a, c, days_ago)
    result = check(world_a, world_a.sales, phone=c.phone)
    assert result.verdict == verdict
    assert result.primary.protected_until == today_plus(world_a, ends_in)
    assert result.claimable is (verdict == "expired")


def test_own_customer_stays_mine_after_protection(world_a):
    c = customer_of(world_a, world_a.sales)
    contacted_days_ago(world_a, c, 45)
    assert check(world_a, world_a.sales, phone=c.phone).verdict == "mine"


# --------------------------------------------------------------------------- speed


def test_check_costs_at_most_three_queries(world_a):
    """Customers, relation rows, the relatives themselves; the policy comes from the cache
    after the first check, and without family recorded the relatives step stops at one query."""
    w = world_a
    husband = customer_of(w, w.sales2, name="陈大文", phone="13500001234")
    wife = customer_of(w, w.sales_other_team, name="林美丽")
    namesake = customer_of(w, w.sales, name="陈大文", phone="13600001234")
    old = customer_of(w, w.sales_other_team, name="老客户")
    relation_add(tenant=w.tenant, actor=w.admin, customer=wife, related=husband, kind="spouse")
    with w.context():
        registration_check(w.admin, phone=old.phone)  # caches the policy
    for staff in (w.admin, w.manager, w.sales):
        with w.context():
            staff = type(staff).objects.select_related("tenant").get(pk=staff.pk)
            with CaptureQueriesContext(connection) as queries:
                result = registration_check(staff, phone=husband.phone, name="陈大文",
                                            related_phone=old.phone)
            with CaptureQueriesContext(connection) as no_family:
                registration_check(staff, phone=old.phone)
        assert len(queries) <= 3, [q["sql"] for q in queries]
        assert len(no_family) <= 2, [q["sql"] for q in no_family]
        assert {m.kind for m in result.matches} == {KIND_PHONE, KIND_NAME_LAST4, KIND_RELATIVE,
                                                     KIND_RELATED_CUSTOMER}
    assert namesake.pk in {m.customer_id for m in result.matches}  # the salesperson's own
