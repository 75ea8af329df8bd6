"""The public pool page and API (masking, search, filters), claiming from it, and returning a
customer to it with a reason (roles, refusals, other tenants)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from apps.customers.models import Customer, OwnershipChange
from apps.ownership.services import customer_return_to_pool, pool_release_due

from .test_pool_helpers import D, at, audits, days, fresh, history, make_customer, state


@pytest.fixture
def pool(world_a):
    """Three pool customers released in order (newest last), of team1, team2 and none."""
    w = world_a
    t1 = make_customer(w, w.sales, name="张伟", contacted=at(D - days(50)), source="referral")
    t2 = make_customer(w, w.sales_other_team, name="李娜", contacted=at(D - days(40)))
    pool_release_due(tenant=w.tenant, today=D)
    none = make_customer(w, None, name="王芳")   # registered unowned by customer service: newest
    owned = make_customer(w, w.sales2, name="赵敏")
    return {"t1": fresh(w, t1), "t2": fresh(w, t2), "none": fresh(w, none), "owned": owned}


def pool_page(client, **params):
    response = client.get(reverse("ownership:pool"), params)
    return response, response.content.decode()


def test_pool_lists_unowned_customers_newest_release_first(world_a, pool, client_for):
    response, html = pool_page(client_for(world_a.admin))
    assert response.status_code == 200
    assert [c.pk for c in response.context["customers"]] == [
        pool["none"].pk, pool["t2"].pk, pool["t1"].pk]
    assert "公海" in html and "赵敏" not in html
    # Admins see names and numbers in full, with a link to the customer.
    assert "张伟" in html and pool["t1"].phone in html
    assert f'href="{reverse("customers:detail", args=[pool["t1"].pk])}"' in html


def test_salespeople_see_masked_names_and_numbers(world_a, pool, client_for):
    response, html = pool_page(client_for(world_a.sales2))
    rows = {c.pk: c for c in response.context["customers"]}
    t1 = pool["t1"]
    assert rows[t1.pk].display_name == "张*" and not rows[t1.pk].visible
    assert rows[t1.pk].display_phone == t1.phone[:3] + "****" + t1.phone[-4:]
    assert "张伟" not in html and t1.phone not in html and "张*" in html
    assert f'href="{reverse("customers:detail", args=[t1.pk])}"' not in html
    assert "认领" in html   # the claim button


def test_manager_sees_their_teams_pool_customers_in_full(world_a, pool, client_for):
    response, html = pool_page(client_for(world_a.manager))
    rows = {c.pk: c for c in response.context["customers"]}
    assert rows[pool["t1"].pk].display_name == "张伟"      # team1
    assert rows[pool["t2"].pk].display_name == "李*"       # team2
    assert "李娜" not in html


def test_pool_search_and_filters(world_a, pool, client_for):
    client = client_for(world_a.sales)
    t1 = pool["t1"]
    response, _ = pool_page(client, search=t1.phone[-4:])
    assert [c.pk for c in response.context["customers"]] == [t1.pk]
    response, _ = pool_page(client, search="李娜")
    assert [c.pk for c in response.context["customers"]] == [pool["t2"].pk]
    response, _ = pool_page(client, team=world_a.team2.pk)
    assert [c.pk for c in response.context["customers"]] == [pool["t2"].pk]
    response, _ = pool_page(client, source="referral")
    assert [c.pk for c in response.context["customers"]] == [t1.pk]
    response, html = pool_page(client, team=999999)
    assert response.status_code == 400 and "找不到该团队。" in html


def test_pool_api_masks_for_salespeople(world_a, pool, api_client_for):
    data = api_client_for(world_a.sales2).get("/api/v1/ownership/pool/").json()
    rows = {r["id"]: r for r in data["results"]}
    t1 = pool["t1"]
    assert rows[t1.pk]["name"] == "张*" and rows[t1.pk]["masked"] is True
    assert rows[t1.pk]["phone"] == t1.phone[:3] + "****" + t1.phone[-4:]
    assert rows[t1.pk]["previous_owner"] == {"id": world_a.sales.pk, "name": world_a.sales.name}
    full = api_client_for(world_a.admin).get("/api/v1/ownership/pool/", {"search": "张伟"}).json()
    assert [(r["name"], r["masked"]) for r in full["results"]] == [("张伟", False)]
    bad = api_client_for(world_a.sales).get("/api/v1/ownership/pool/", {"source": "nope"})
    assert bad.status_code == 400 and "source" in bad.json()["error"]["fields"]


# --------------------------------------------------------------------------- claim


def test_claim_from_the_pool_page(world_a, pool, client_for):
    w = world_a
    client = client_for(w.sales2)
    t1 = pool["t1"]
    response = client.post(reverse("ownership:pool_claim", args=[t1.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:detail", args=[t1.pk])
    assert [str(m) for m in response.wsgi_request._messages] == ["张伟 现在是您的客户。"]
    c = fresh(w, t1)
    assert c.owner == w.sales2 and c.released_at is None
    [row] = history(w, customer=t1, reason=OwnershipChange.Reason.CLAIM)
    assert (row.from_owner, row.to_owner, row.actor) == (None, w.sales2, w.sales2)


def test_claim_of_an_owned_customer_is_refused_and_changes_nothing(world_a, pool, client_for):
    w = world_a
    before = state(w)
    response = client_for(w.sales).post(reverse("ownership:pool_claim", args=[pool["owned"].pk]),
                                        {"next": reverse("ownership:pool") + "?search=x"})
    assert response.status_code == 302
    assert response["Location"] == reverse("ownership:pool") + "?search=x"
    [message] = [str(m) for m in response.wsgi_request._messages]
    assert "赵敏" not in message   # someone else's customer is not named
    assert state(w) == before


def test_claim_roles_and_other_tenants(world_a, world_b, pool, client_for):
    t1 = pool["t1"]
    before = state(world_a)
    # Customer service and finance do not claim.
    assert client_for(world_a.cs).post(reverse("ownership:pool_claim", args=[t1.pk])).status_code == 403
    # Another tenant's id is unknown, whatever the role.
    for role in ("sales", "admin"):
        client = client_for(getattr(world_b, role))
        assert client.post(reverse("ownership:pool_claim", args=[t1.pk])).status_code == 404
        assert client.get(reverse("ownership:pool_claim", args=[t1.pk])).status_code == 404
    assert state(world_a) == before


# --------------------------------------------------------------------------- return


def test_owner_returns_a_customer_with_a_reason(world_a, client_for):
    w = world_a
    c = make_customer(w, w.sales, name="孙丽")
    client = client_for(w.sales)
    url = reverse("ownership:return", args=[c.pk])
    response = client.get(url)
    assert response.status_code == 200
    assert "确定将 孙丽 退回公海吗？" in response.content.decode()
    response = client.post(url, {"reason": "客户已移居外地"})
    assert response.status_code == 302
    assert response["Location"] == reverse("ownership:pool")   # no longer visible to them
    assert [str(m) for m in response.wsgi_request._messages] == ["孙丽 已退回公海。"]
    after = fresh(w, c)
    assert (after.owner, after.previous_owner, after.team) == (None, w.sales, w.team1)
    [row] = history(w, customer=c, reason=OwnershipChange.Reason.RETURN)
    assert (row.from_owner, row.to_owner, row.actor, row.note) == (w.sales, None, w.sales,
                                                                    "客户已移居外地")
    [entry] = audits(w, "customer.owner.return")
    assert entry.actor == w.sales and entry.reason == "客户已移居外地"


def test_return_without_reason_is_refused_and_changes_nothing(world_a, client_for):
    w = world_a
    c = make_customer(w, w.sales, name="孙丽")
    before = state(w)
    response = client_for(w.sales).post(reverse("ownership:return", args=[c.pk]), {"reason": "  "})
    assert response.status_code == 400
    assert "请填写客户退回公海的原因。" in response.content.decode()
    with pytest.raises(ValidationError) as exc:
        customer_return_to_pool(tenant=w.tenant, actor=w.sales, customer=c, reason="")
    assert exc.value.message_dict == {"reason": ["请填写客户退回公海的原因。"]}
    assert state(w) == before
    assert history(w, reason=OwnershipChange.Reason.RETURN) == []


def test_who_may_return(world_a, client_for):
    w = world_a
    c = make_customer(w, w.sales)
    other = make_customer(w, w.sales_other_team)
    before = state(w)
    # A teammate and another team's salesperson do not even see it; customer service sees it
    # but may not give it away.
    assert client_for(w.sales2).get(reverse("ownership:return", args=[c.pk])).status_code == 404
    assert client_for(w.cs).post(reverse("ownership:return", args=[c.pk]),
                                 {"reason": "x"}).status_code == 403
    with pytest.raises(PermissionDenied) as exc:
        customer_return_to_pool(tenant=w.tenant, actor=w.cs, customer=c, reason="x")
    assert str(exc.value) == "只有归属人、其经理或管理员可以将该客户退回公海。"
    assert client_for(w.manager).get(reverse("ownership:return", args=[other.pk])).status_code == 404
    assert state(w) == before
    # The team's manager and an admin may.
    response = client_for(w.manager).post(reverse("ownership:return", args=[c.pk]),
                                          {"reason": "长期联系不上"})
    assert response.status_code == 302 and fresh(w, c).owner is None
    client_for(w.admin).post(reverse("ownership:return", args=[other.pk]), {"reason": "离职交接"})
    assert fresh(w, other).owner is None


def test_return_of_a_pool_customer(world_a, client_for):
    w = world_a
    c = make_customer(w, None)
    response = client_for(w.admin).get(reverse("ownership:return", args=[c.pk]))
    assert response.status_code == 302
    assert [str(m) for m in response.wsgi_request._messages] == ["该客户已在公海中。"]
    with pytest.raises(ValidationError) as exc:
        customer_return_to_pool(tenant=w.tenant, actor=w.admin, customer=c, reason="x")
    assert exc.value.message_dict == {"customer": ["该客户已在公海中。"]}


def test_return_api(world_a, world_b, api_client_for):
    w = world_a
    c = make_customer(w, w.sales)
    url = f"/api/v1/ownership/customers/{c.pk}/return/"
    response = api_client_for(w.sales).post(url, {}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"reason": ["请填写客户退回公海的原因。"]}
    before = state(w)
    assert api_client_for(world_b.admin).post(url, {"reason": "x"}, format="json").status_code == 404
    assert api_client_for(w.sales2).post(url, {"reason": "x"}, format="json").status_code == 404
    assert state(w) == before
    response = api_client_for(w.sales).post(url, {"reason": "客户要求"}, format="json")
    assert response.status_code == 200 and response.json()["owner"] is None
    with w.context():
        assert Customer.objects.get(pk=c.pk).owner_id is None
