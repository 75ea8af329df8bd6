"""A customer's ownership on its page (owner, protection, pool, shares, visits, history with
who/when/why, newest first) and the history API."""

from __future__ import annotations

from decimal import Decimal

from django.urls import reverse

from apps.ownership.models import OwnershipShare, Visit
from apps.ownership.registration import customer_claim
from apps.ownership.selectors import ownership_summary, tenant_today
from apps.ownership.services import customer_return_to_pool, customers_reassign, pool_release_due

from .test_pool_helpers import at, days, fresh, make_customer


def lived(world):
    """A customer registered by sales, reassigned to sales2, returned, claimed by sales3."""
    w = world
    c = make_customer(w, w.sales, name="钱多多")
    customers_reassign(tenant=w.tenant, actor=w.manager, from_owner=w.sales, to_owners=[w.sales2],
                       note="离职交接")
    customer_return_to_pool(tenant=w.tenant, actor=w.sales2, customer=c, reason="客户不再需要")
    customer_claim(tenant=w.tenant, actor=w.sales_other_team, customer=fresh(w, c))
    return fresh(w, c)


def test_summary_and_history_newest_first(world_a):
    w = world_a
    c = lived(w)
    with w.context():
        summary = ownership_summary(c, w.admin)
    assert summary["owner"] == w.sales_other_team and summary["previous_owner"] == w.sales2
    reasons = [(h.reason, h.from_owner_id, h.to_owner_id, h.actor_id) for h in summary["history"]]
    assert reasons == [
        ("claim", None, w.sales_other_team.pk, w.sales_other_team.pk),
        ("return", w.sales2.pk, None, w.sales2.pk),
        ("reassignment", w.sales.pk, w.sales2.pk, w.manager.pk),
        ("registration", None, w.sales.pk, w.admin.pk),
    ]
    assert summary["days_left"] == 30 and summary["protection_end"] == tenant_today(w.tenant) + days(30)
    assert summary["in_pool"] is False and summary["can_return"] is True


def test_customer_page_shows_the_ownership_section(world_a, client_for):
    w = world_a
    c = lived(w)
    with w.context():
        OwnershipShare.objects.create(tenant=w.tenant, customer=c, staff=w.sales, percent=Decimal("20"))
        OwnershipShare.objects.create(tenant=w.tenant, customer=c, staff=w.sales_other_team,
                                      percent=Decimal("80"))
        Visit.objects.create(tenant=w.tenant, customer=c, received_by=w.sales_other_team,
                             attributed_to=w.sales_other_team, kind=Visit.Kind.REVISIT)
    response = client_for(w.admin).get(reverse("customers:detail", args=[c.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    section = html[html.index('id="ownership"'):html.index('id="relations"')]
    for text in ("客户归属", "归属起始时间", "最近有效联系", "保护截止", "剩余 30 天", "业绩分成",
                 f"{w.sales.name} 20%", f"{w.sales_other_team.name} 80%", "最近来访",
                 "归属变更记录", "从公海认领", "退回公海", "转移分配", "报备登记", "客户不再需要",
                 "离职交接", w.manager.name, "退回公海</a>"):
        assert text in section, text
    # Newest first: the claim is listed before the registration.
    assert section.index("从公海认领") < section.index("报备登记")


def test_pool_customer_section_and_release_by_the_system(world_a, client_for):
    w = world_a
    c = make_customer(w, w.sales, contacted=at(tenant_today(w.tenant) - days(45)))
    pool_release_due(tenant=w.tenant)
    html = client_for(w.admin).get(reverse("customers:detail", args=[c.pk])).content.decode()
    section = html[html.index('id="ownership"'):html.index('id="relations"')]
    assert "进入公海时间" in section and "释放到公海（无有效联系）" in section
    assert "系统" in section and "超过 30 天无有效联系。" in section
    assert w.sales.name in section   # the previous owner
    assert "退回公海</a>" not in section   # nothing to return


def test_history_api(world_a, world_b, api_client_for):
    w = world_a
    c = lived(w)
    url = f"/api/v1/ownership/customers/{c.pk}/history/"
    data = api_client_for(w.sales_other_team).get(url).json()
    rows = data["results"]
    assert [r["reason"] for r in rows] == ["claim", "return", "reassignment", "registration"]
    assert rows[1]["reason_label"] == "退回公海" and rows[1]["note"] == "客户不再需要"
    assert rows[1]["actor"] == {"id": w.sales2.pk, "name": w.sales2.name}
    assert rows[1]["from_owner"]["id"] == w.sales2.pk and rows[1]["to_owner"] is None
    # Someone who may not see the customer, and another tenant: 404.
    assert api_client_for(w.sales).get(url).status_code == 404
    assert api_client_for(world_b.admin).get(url).status_code == 404
