"""customer_create / customer_update / relation_add / relation_remove."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.core.models import AuditEntry
from apps.customers.models import Customer, CustomerRelation
from apps.customers.services import customer_create, customer_update, relation_add, relation_remove

from .factories import CustomerFactory, make_id_number, next_phone

pytestmark = pytest.mark.django_db


def errors_of(excinfo) -> dict:
    return excinfo.value.message_dict


def audit_rows(world, customer):
    with world.context():
        return list(AuditEntry.objects.filter(target_type="customers.customer", target_id=customer.pk)
                    .order_by("id"))


# --------------------------------------------------------------------------- phone and ID


@pytest.mark.parametrize("raw", ["13800138000", "+86 138 0013 8000", "+86-138-0013-8000",
                                 "138-0013-8000", "0086 13800138000", " 138 0013 8000 "])
def test_phone_is_normalised(world_a, raw):
    c = customer_create(tenant=world_a.tenant, actor=world_a.sales, name="甲", phone=raw)
    assert c.phone == "13800138000"


@pytest.mark.parametrize("raw", ["", "12345", "1380013800", "138001380001", "23800138000",
                                 "010-62345678", "+1 415 555 2671", "138OO138000", "abc"])
def test_invalid_phone_is_a_field_error(world_a, raw):
    with pytest.raises(ValidationError) as exc:
        customer_create(tenant=world_a.tenant, actor=world_a.sales, name="甲", phone=raw)
    assert list(errors_of(exc)) == ["phone"]


@pytest.mark.parametrize(("raw", "message"), [
    ("12345", "请输入有效的中国大陆手机号。"),          # digits, but too short
    ("23800138000", "请输入有效的中国大陆手机号。"),    # 11 digits, not a mobile range
    ("138OO138000", "手机号只能包含数字，例如 138 0013 8000。"),  # letters O for zeros
])
def test_invalid_phone_message_says_what_is_wrong(world_a, raw, message):
    with pytest.raises(ValidationError) as exc:
        customer_create(tenant=world_a.tenant, actor=world_a.sales, name="甲", phone=raw)
    assert errors_of(exc) == {"phone": [message]}


@pytest.mark.parametrize("raw", ["11010519491231002X", "11010519491231002x",
                                 make_id_number(), "110105 19900101 " + make_id_number()[-4:]])
def test_valid_id_numbers(world_a, raw):
    c = customer_create(tenant=world_a.tenant, actor=world_a.sales, name="甲", phone=next_phone(),
                        id_number=raw)
    assert c.id_number == raw.replace(" ", "").upper()
    assert c.birthday == datetime.date(int(c.id_number[6:10]), int(c.id_number[10:12]),
                                       int(c.id_number[12:14]))


def test_id_number_with_wrong_check_digit(world_a):
    good = make_id_number()
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    with pytest.raises(ValidationError) as exc:
        customer_create(tenant=world_a.tenant, actor=world_a.sales, name="甲", phone=next_phone(),
                        id_number=bad)
    assert errors_of(exc) == {"id_number": ["该身份证号的校验位不正确。"]}


@pytest.mark.parametrize("birth", ["19900230", "19901301", "18800101", "29990101"])
def test_id_number_with_impossible_birth_date(world_a, birth):
    with pytest.raises(ValidationError) as exc:
        customer_create(tenant=world_a.tenant, actor=world_a.sales, name="甲", phone=next_phone(),
                        id_number=make_id_number(birth=birth))
    assert list(errors_of(exc)) == ["id_number"]


def test_id_number_of_wrong_length(world_a):
    with pytest.raises(ValidationError) as exc:
        customer_create(tenant=world_a.tenant, actor=world_a.sales, name="甲", phone=next_phone(),
                        id_number="1101051949123100")
    assert errors_of(exc) == {"id_number": ["身份证号应为 18 位。"]}


def test_birthday_contradicting_the_id_number(world_a):
    with pytest.raises(ValidationError) as exc:
        customer_create(tenant=world_a.tenant, actor=world_a.sales, name="甲", phone=next_phone(),
                        id_number=make_id_number(birth="19900101"),
                        birthday=datetime.date(1991, 1, 1))
    assert list(errors_of(exc)) == ["birthday"]


def test_all_field_errors_at_once_and_over_long_text(world_a):
    with pytest.raises(ValidationError) as exc:
        customer_create(tenant=world_a.tenant, actor=world_a.sales, name="甲" * 51, phone="123",
                        address="x" * 201, notes="n" * 2001, tags=["t" * 21], grade="Z",
                        source="nowhere", gender="Q")
    assert set(errors_of(exc)) == {"name", "phone", "address", "notes", "tags", "grade", "source",
                                   "gender"}


# --------------------------------------------------------------------------- defaults


def test_sales_owns_what_they_register_in_their_team(world_a):
    c = CustomerFactory(tenant=world_a.tenant, actor=world_a.sales, tags=[" VIP", "VIP", "", "老客户"])
    assert (c.owner, c.team, c.created_by) == (world_a.sales, world_a.team1, world_a.sales)
    assert c.tags == ["VIP", "老客户"]
    assert c.source == Customer.Source.WALK_IN


def test_admin_assigns_owner_and_team_follows(world_a):
    c = CustomerFactory(tenant=world_a.tenant, actor=world_a.admin, owner=world_a.sales_other_team)
    assert (c.owner, c.team) == (world_a.sales_other_team, world_a.team2)


def test_customer_service_registers_unowned(world_a):
    c = CustomerFactory(tenant=world_a.tenant, actor=world_a.cs)
    assert (c.owner, c.team) == (None, None)


def test_manager_unowned_customer_stays_in_their_team(world_a):
    c = CustomerFactory(tenant=world_a.tenant, actor=world_a.manager)
    assert (c.owner, c.team) == (None, world_a.team1)


def test_sales_cannot_set_another_owner(world_a):
    with pytest.raises(ValidationError) as exc:
        CustomerFactory(tenant=world_a.tenant, actor=world_a.sales, owner=world_a.sales2)
    assert list(errors_of(exc)) == ["owner"]


def test_manager_assigns_only_within_team(world_a):
    c = CustomerFactory(tenant=world_a.tenant, actor=world_a.manager, owner=world_a.sales2)
    assert c.owner == world_a.sales2
    with pytest.raises(ValidationError) as exc:
        CustomerFactory(tenant=world_a.tenant, actor=world_a.manager, owner=world_a.sales_other_team)
    assert list(errors_of(exc)) == ["owner"]
    with pytest.raises(ValidationError) as exc:
        CustomerFactory(tenant=world_a.tenant, actor=world_a.manager, team=world_a.team2)
    assert list(errors_of(exc)) == ["team"]


def test_staff_of_another_tenant_cannot_own(world_a, world_b):
    with pytest.raises(ValidationError) as exc:
        CustomerFactory(tenant=world_a.tenant, actor=world_a.admin, owner=world_b.sales)
    assert list(errors_of(exc)) == ["owner"]


def test_finance_cannot_register(world_a):
    with pytest.raises(PermissionDenied):
        CustomerFactory(tenant=world_a.tenant, actor=world_a.finance)


# --------------------------------------------------------------------------- duplicates


def test_duplicate_phone_names_the_owner_to_someone_who_sees_the_customer(world_a):
    first = CustomerFactory(tenant=world_a.tenant, actor=world_a.sales, name="张三")
    with pytest.raises(ValidationError) as exc:
        customer_create(tenant=world_a.tenant, actor=world_a.manager, name="张三丰",
                        phone="+86 " + first.phone)
    [message] = errors_of(exc)["phone"]
    assert "张三" in message and world_a.sales.name in message


def test_duplicate_phone_hides_the_owner_from_someone_who_does_not(world_a):
    first = CustomerFactory(tenant=world_a.tenant, actor=world_a.sales, name="张三")
    with pytest.raises(ValidationError) as exc:
        customer_create(tenant=world_a.tenant, actor=world_a.sales2, name="某人", phone=first.phone)
    assert errors_of(exc) == {"phone": ["该手机号已登记。"]}
    with pytest.raises(ValidationError) as exc:  # other team: not visible either
        customer_create(tenant=world_a.tenant, actor=world_a.sales_other_team, name="某人",
                        phone=first.phone)
    assert errors_of(exc) == {"phone": ["该手机号已登记。"]}


def test_duplicate_id_number(world_a):
    id_number = make_id_number()
    CustomerFactory(tenant=world_a.tenant, actor=world_a.sales, id_number=id_number)
    with pytest.raises(ValidationError) as exc:
        CustomerFactory(tenant=world_a.tenant, actor=world_a.sales2, id_number=id_number.lower())
    assert errors_of(exc) == {"id_number": ["该身份证号已登记。"]}
    with pytest.raises(ValidationError) as exc:
        CustomerFactory(tenant=world_a.tenant, actor=world_a.admin, id_number=id_number)
    assert world_a.sales.name in errors_of(exc)["id_number"][0]


def test_same_phone_and_id_in_another_tenant_is_allowed(world_a, world_b):
    id_number = make_id_number()
    a = CustomerFactory(tenant=world_a.tenant, actor=world_a.sales, id_number=id_number)
    b = CustomerFactory(tenant=world_b.tenant, actor=world_b.sales, phone=a.phone, id_number=id_number)
    assert (b.phone, b.id_number) == (a.phone, a.id_number) and b.pk != a.pk


# --------------------------------------------------------------------------- update and audit


def test_create_and_update_are_audited_with_a_diff(world_a):
    c = CustomerFactory(tenant=world_a.tenant, actor=world_a.sales, name="张三", grade="")
    c = customer_update(tenant=world_a.tenant, actor=world_a.sales, customer=c, name="张三 ",
                        grade="A", notes="喜欢蓝色")
    created, updated = audit_rows(world_a, c)
    assert created.action == "customer.create" and created.actor_id == world_a.sales.pk
    assert created.changes["phone"] == c.phone and created.changes["owner"] == world_a.sales.pk
    assert updated.action == "customer.update"
    assert updated.changes == {"grade": ["", "A"], "notes": ["", "喜欢蓝色"]}


def test_update_without_change_writes_no_audit_row(world_a):
    c = CustomerFactory(tenant=world_a.tenant, actor=world_a.sales)
    customer_update(tenant=world_a.tenant, actor=world_a.sales, customer=c, phone=c.phone)
    assert [e.action for e in audit_rows(world_a, c)] == ["customer.create"]


def test_update_validates_like_create(world_a):
    other = CustomerFactory(tenant=world_a.tenant, actor=world_a.sales)
    c = CustomerFactory(tenant=world_a.tenant, actor=world_a.sales)
    with pytest.raises(ValidationError) as exc:
        customer_update(tenant=world_a.tenant, actor=world_a.sales, customer=c, phone=other.phone,
                        name="")
    assert set(errors_of(exc)) == {"phone", "name"}
    with world_a.context():
        assert Customer.objects.get(pk=c.pk).phone == c.phone


def test_masked_id_number_sent_back_means_unchanged(world_a):
    id_number = make_id_number()
    c = CustomerFactory(tenant=world_a.tenant, actor=world_a.sales, id_number=id_number)
    c = customer_update(tenant=world_a.tenant, actor=world_a.sales, customer=c,
                        id_number=id_number[:6] + "********" + id_number[-4:], grade="B")
    assert c.id_number == id_number


def test_reassigning_moves_the_customer_to_the_new_owners_team(world_a):
    c = CustomerFactory(tenant=world_a.tenant, actor=world_a.sales)
    c = customer_update(tenant=world_a.tenant, actor=world_a.admin, customer=c,
                        owner=world_a.sales_other_team)
    assert (c.owner, c.team) == (world_a.sales_other_team, world_a.team2)
    assert audit_rows(world_a, c)[-1].changes == {
        "owner": [world_a.sales.pk, world_a.sales_other_team.pk],
        "team": [world_a.team1.pk, world_a.team2.pk]}


def test_sales_cannot_give_away_or_edit_others(world_a):
    c = CustomerFactory(tenant=world_a.tenant, actor=world_a.sales)
    with pytest.raises(ValidationError) as exc:
        customer_update(tenant=world_a.tenant, actor=world_a.sales, customer=c, owner=world_a.sales2)
    assert list(errors_of(exc)) == ["owner"]
    with pytest.raises(PermissionDenied):
        customer_update(tenant=world_a.tenant, actor=world_a.sales2, customer=c, name="x")
    with pytest.raises(PermissionDenied):
        customer_update(tenant=world_a.tenant, actor=world_a.finance, customer=c, name="x")


# --------------------------------------------------------------------------- relations


def test_relation_add_and_remove_are_audited(world_a):
    a = CustomerFactory(tenant=world_a.tenant, actor=world_a.sales)
    b = CustomerFactory(tenant=world_a.tenant, actor=world_a.sales)
    rel = relation_add(tenant=world_a.tenant, actor=world_a.sales, customer=a, related=b,
                       kind=CustomerRelation.Kind.PARENT)
    relation_remove(tenant=world_a.tenant, actor=world_a.sales, customer=b, relation=rel)
    with world_a.context():
        assert not CustomerRelation.objects.exists()
    assert [(e.action, e.changes["related"], e.changes["kind"]) for e in audit_rows(world_a, a)[1:]] == [
        ("customer.relation_add", b.pk, "parent")]
    assert [(e.action, e.changes["related"]) for e in audit_rows(world_a, b)[1:]] == [
        ("customer.relation_remove", a.pk)]


def test_relation_refusals(world_a, world_b):
    t = world_a.tenant
    a = CustomerFactory(tenant=t, actor=world_a.sales)
    b = CustomerFactory(tenant=t, actor=world_a.sales)
    invisible = CustomerFactory(tenant=t, actor=world_a.sales2)
    foreign = CustomerFactory(tenant=world_b.tenant, actor=world_b.sales)
    relation_add(tenant=t, actor=world_a.sales, customer=a, related=b, kind="spouse")
    cases = [(a, a, "spouse", "related"), (a, b, "friend", "related"), (b, a, "spouse", "related"),
             (a, invisible, "spouse", "related"), (a, foreign, "spouse", "related"),
             (b, CustomerFactory(tenant=t, actor=world_a.sales), "enemy", "kind")]
    for customer, related, kind, field in cases:
        with pytest.raises(ValidationError) as exc:
            relation_add(tenant=t, actor=world_a.sales, customer=customer, related=related, kind=kind)
        assert list(errors_of(exc)) == [field], (customer, related, kind)
    with pytest.raises(PermissionDenied):
        relation_add(tenant=t, actor=world_a.finance, customer=a, related=b, kind="friend")
