"""Reassigning a salesperson's customers: all or selected, round-robin, one transaction, refusals
(nothing changes), the page with its confirmation step, the API, and the deactivation hint."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from apps.customers.models import OwnershipChange
from apps.ownership import services
from apps.ownership.services import customers_reassign
from apps.tenancy.roles import Role
from apps.tenancy.services import staff_set_active

from .test_pool_helpers import audits, fresh, history, make_customer, notifications, state


@pytest.fixture
def leaving(world_a):
    """Five customers of world_a.sales (team1), and one of sales2."""
    w = world_a
    return [make_customer(w, w.sales) for _ in range(5)] + [make_customer(w, w.sales2)]


def owners(world, customers):
    return [fresh(world, c).owner_id for c in customers]


def test_manager_moves_all_customers_to_a_teammate(world_a, leaving):
    w = world_a
    counts = customers_reassign(tenant=w.tenant, actor=w.manager, from_owner=w.sales,
                                to_owners=[w.sales2], note="离职交接")
    assert counts == {w.sales2.pk: 5}
    assert owners(w, leaving) == [w.sales2.pk] * 6
    c = fresh(w, leaving[0])
    assert c.previous_owner == w.sales and c.owned_since is not None
    assert c.last_contact_at == c.owned_since   # a fresh protection window
    rows = history(w, reason=OwnershipChange.Reason.REASSIGNMENT)
    assert len(rows) == 5
    assert {(r.from_owner, r.to_owner, r.actor, r.note) for r in rows} == {
        (w.sales, w.sales2, w.manager, "离职交接")}
    [entry] = audits(w, "ownership.reassign")
    assert entry.actor == w.manager and entry.target_id == w.sales.pk and entry.reason == "离职交接"
    assert entry.changes == {"customers": 5, "selected": False, "to": {str(w.sales2.pk): 5}}
    [notice] = notifications(w, w.sales2)
    assert notice.title == f"{w.sales.name} 的 5 位客户已转给您" and notice.body == "离职交接"


def test_several_targets_share_in_turn_and_customers_follow_the_team(world_a, leaving):
    w = world_a
    counts = customers_reassign(tenant=w.tenant, actor=w.admin, from_owner=w.sales,
                                to_owners=[w.sales2, w.sales_other_team], note="调整")
    assert counts == {w.sales2.pk: 3, w.sales_other_team.pk: 2}
    five = sorted(leaving[:5], key=lambda c: c.pk)
    assert owners(w, five) == [w.sales2.pk, w.sales_other_team.pk, w.sales2.pk,
                               w.sales_other_team.pk, w.sales2.pk]
    assert fresh(w, five[1]).team == w.team2 and fresh(w, five[0]).team == w.team1


def test_only_the_selected_customers_move(world_a, leaving):
    w = world_a
    picked = [leaving[1].pk, leaving[3].pk]
    counts = customers_reassign(tenant=w.tenant, actor=w.manager, from_owner=w.sales,
                                to_owners=[w.sales2], customer_ids=picked, note="客户要求换人")
    assert counts == {w.sales2.pk: 2}
    assert owners(w, leaving[:5]) == [w.sales.pk, w.sales2.pk, w.sales.pk, w.sales2.pk, w.sales.pk]
    [entry] = audits(w, "ownership.reassign")
    assert entry.changes["selected"] is True


@pytest.mark.parametrize(("case", "field", "message"), [
    ("self", "to_owners", "{sales} 不能接收自己的客户。"),
    ("inactive", "to_owners", "{sales2} 已停用。"),
    ("not_sales", "to_owners", "{cs} 不是销售。"),
    ("other_team", "to_owners", "{sales3} 不在您的团队。"),
    ("nobody", "to_owners", "请至少选择一位接收客户的销售。"),
    ("not_owned", "customer_ids", "所选客户中有 1 位不属于 {sales}。"),
    ("empty_selection", "customer_ids", "请至少选择一位客户。"),
    ("no_note", "note", "请填写转移客户的原因。"),
])
def test_refusals_change_nothing(world_a, leaving, case, field, message):
    w = world_a
    kwargs = {"from_owner": w.sales, "to_owners": [w.sales2], "customer_ids": None, "note": "交接"}
    if case == "self":
        kwargs["to_owners"] = [w.sales2, w.sales]
    elif case == "inactive":
        staff_set_active(tenant=w.tenant, actor=w.admin, staff=w.sales2, active=False, reason="离职")
    elif case == "not_sales":
        kwargs["to_owners"] = [w.cs]
    elif case == "other_team":
        kwargs["to_owners"] = [w.sales_other_team]
    elif case == "nobody":
        kwargs["to_owners"] = []
    elif case == "not_owned":
        kwargs["customer_ids"] = [leaving[0].pk, leaving[5].pk]   # the second is sales2's
    elif case == "empty_selection":
        kwargs["customer_ids"] = []
    elif case == "no_note":
        kwargs["note"] = "   "
    before = state(w)
    with pytest.raises(ValidationError) as exc:
        customers_reassign(tenant=w.tenant, actor=w.manager, **kwargs)
    names = {"sales": w.sales.name, "sales2": w.sales2.name, "cs": w.cs.name,
             "sales3": w.sales_other_team.name}
    assert exc.value.message_dict[field] == [message.format(**names)]
    assert state(w) == before
    assert history(w, reason=OwnershipChange.Reason.REASSIGNMENT) == []
    assert audits(w, "ownership.reassign") == []


def test_role_refusals(world_a, leaving):
    w = world_a
    before = state(w)
    with pytest.raises(PermissionDenied) as exc:
        customers_reassign(tenant=w.tenant, actor=w.sales, from_owner=w.sales,
                           to_owners=[w.sales2], note="x")
    assert str(exc.value) == "只有经理和管理员可以转移客户。"
    with pytest.raises(PermissionDenied) as exc:   # another team's salesperson
        customers_reassign(tenant=w.tenant, actor=w.manager, from_owner=w.sales_other_team,
                           to_owners=[w.sales2], note="x")
    assert str(exc.value) == "您只能转移本团队成员的客户。"
    assert state(w) == before


def test_one_transaction_a_failure_leaves_everything_as_it_was(world_a, leaving, monkeypatch):
    """The customers are moved and their history written before the audit entry: when the
    audit fails, the whole reassignment is rolled back."""
    w = world_a
    before = state(w)

    def broken_audit(**kwargs):
        raise RuntimeError("audit down")

    monkeypatch.setattr(services, "audit_record", broken_audit)
    with pytest.raises(RuntimeError):
        customers_reassign(tenant=w.tenant, actor=w.admin, from_owner=w.sales,
                           to_owners=[w.sales2, w.sales_other_team], note="交接")
    assert state(w) == before
    assert history(w, reason=OwnershipChange.Reason.REASSIGNMENT) == []
    assert notifications(w) == []


def test_a_departed_salespersons_customers_can_be_moved(world_a, leaving):
    w = world_a
    staff_set_active(tenant=w.tenant, actor=w.admin, staff=w.sales, active=False, reason="离职")
    counts = customers_reassign(tenant=w.tenant, actor=w.manager, from_owner=w.sales,
                                to_owners=[w.sales2], note="离职交接")
    assert counts == {w.sales2.pk: 5}


# --------------------------------------------------------------------------- page


def test_reassign_page_flow(world_a, leaving, client_for):
    w = world_a
    client = client_for(w.manager)
    url = reverse("ownership:reassign")
    response = client.get(url)
    assert response.status_code == 200 and response.context["form"] is None
    response = client.get(url, {"from_owner": w.sales.pk})
    html = response.content.decode()
    assert response.context["total"] == 5
    assert f"{w.sales.name} 名下有 5 位客户" in html
    # Step 2: choose the ticked customers, the targets, the reason -> the confirmation.
    data = {"from_owner": w.sales.pk, "scope": "selected",
            "customer_ids": [leaving[0].pk, leaving[2].pk], "to_owners": [w.sales2.pk],
            "note": "客户要求换人"}
    response = client.post(url, data)
    assert response.status_code == 200
    html = response.content.decode()
    assert f"确定转移 {w.sales.name} 的 2 位客户吗？" in html
    assert f"{w.sales2.name}：2 位客户" in html
    assert owners(w, leaving[:3]) == [w.sales.pk] * 3   # nothing moved yet
    # Step 3: confirm.
    response = client.post(url, {**data, "confirm": "1"})
    assert response.status_code == 302
    assert [str(m) for m in response.wsgi_request._messages] == [f"已转移 {w.sales.name} 的 2 位客户。"]
    assert owners(w, leaving[:3]) == [w.sales2.pk, w.sales.pk, w.sales2.pk]


def test_reassign_page_errors_keep_the_input(world_a, leaving, client_for):
    w = world_a
    before = state(w)
    response = client_for(w.manager).post(reverse("ownership:reassign"), {
        "from_owner": w.sales.pk, "scope": "all", "to_owners": [w.sales2.pk], "note": ""})
    assert response.status_code == 400
    html = response.content.decode()
    assert "请填写转移客户的原因。" in html
    assert response.context["form"]["to_owners"].value() == [str(w.sales2.pk)]
    # A target outside the manager's team is not even a choice.
    response = client_for(w.manager).post(reverse("ownership:reassign"), {
        "from_owner": w.sales.pk, "scope": "all", "to_owners": [w.sales_other_team.pk],
        "note": "x", "confirm": "1"})
    assert response.status_code == 400
    assert f"{w.sales_other_team.pk} 不是您可以分配客户的销售。" in response.content.decode()
    assert state(w) == before


def test_reassign_page_roles_and_other_tenants(world_a, world_b, leaving, client_for):
    w = world_a
    before = state(w)
    for role in ("sales", "cs", "finance"):
        client = client_for(getattr(w, role))
        assert client.get(reverse("ownership:reassign")).status_code == 403
        assert client.post(reverse("ownership:reassign"), {
            "from_owner": w.sales.pk, "scope": "all", "to_owners": [w.sales2.pk], "note": "x",
            "confirm": "1"}).status_code == 403
    # Tenant B's manager naming A's staff: unknown people, nothing changes.
    response = client_for(world_b.admin).post(reverse("ownership:reassign"), {
        "from_owner": w.sales.pk, "scope": "all", "to_owners": [w.sales2.pk], "note": "x",
        "confirm": "1"})
    assert response.status_code == 400
    assert state(w) == before


# --------------------------------------------------------------------------- API


def test_reassign_api(world_a, world_b, leaving, api_client_for):
    w = world_a
    url = "/api/v1/ownership/reassign/"
    before = state(w)
    response = api_client_for(w.sales).post(url, {"from_owner_id": w.sales.pk,
                                                  "to_owner_ids": [w.sales2.pk], "note": "x"},
                                            format="json")
    assert response.status_code == 403
    response = api_client_for(world_b.admin).post(url, {
        "from_owner_id": w.sales.pk, "to_owner_ids": [w.sales2.pk], "note": "x"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["from_owner_id"] == ["找不到该员工。"]
    response = api_client_for(w.manager).post(url, {
        "from_owner_id": w.sales.pk, "to_owner_ids": [w.sales.pk], "note": "x"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["to_owner_ids"] == [f"{w.sales.name} 不能接收自己的客户。"]
    assert state(w) == before
    response = api_client_for(w.manager).post(url, {
        "from_owner_id": w.sales.pk, "to_owner_ids": [w.sales2.pk],
        "customer_ids": [leaving[4].pk], "note": "交接"}, format="json")
    assert response.status_code == 200
    assert response.json() == {"moved": 1, "to": [{"id": w.sales2.pk, "name": w.sales2.name,
                                                    "customers": 1}]}
    assert fresh(w, leaving[4]).owner == w.sales2


# --------------------------------------------------------------------------- deactivation hint


def test_deactivation_page_points_to_reassignment(world_a, leaving, client_for):
    w = world_a
    html = client_for(w.admin).get(reverse("tenancy:staff_deactivate", args=[w.sales.pk])).content.decode()
    assert "其名下还有 5 位客户。" in html
    assert f'{reverse("ownership:reassign")}?from_owner={w.sales.pk}' in html
    empty = w.make_staff("empty", [Role.SALES], w.team1)
    html = client_for(w.admin).get(reverse("tenancy:staff_deactivate", args=[empty.pk])).content.decode()
    assert 'id="reassign-hint"' not in html
