"""Tiers set by hand and reviews closed: the services (who, a reason, history and audit rows,
nothing changed on a refusal) and their pages (form → confirmation → done, input kept after an
error, 403 for roles that may not, 404 for another tenant)."""
# ruff: noqa: F811 - the imported `edu` fixture is an argument of the tests

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from apps.core.models import AuditEntry
from apps.tenancy.roles import Role
from apps.vip import services
from apps.vip.models import TierChange
from tests.customers.factories import CustomerFactory
from tests.deals.conftest import edu, make_deal  # noqa: F401 - the fixture
from tests.referrals.lifecycle_helpers import zh

from .test_benefits import changes, refund, tier_row

pytestmark = pytest.mark.django_db
D = Decimal


def set_tier(world, customer, tier, reason="老客户多年支持", actor=None):
    return services.tier_set(tenant=world.tenant, actor=actor or world.manager,
                             customer=customer, tier=tier, reason=reason)


def keep(world, customer, reason="客户将续约", actor=None):
    return services.tier_review_keep(tenant=world.tenant, actor=actor or world.manager,
                                     customer=customer, reason=reason)


def audits(world, action):
    with world.context():
        return list(AuditEntry.objects.filter(action=action).order_by("id"))


def flagged(edu):
    """edu.customer Gold, then a refund below the threshold: flagged for review."""
    deal = make_deal(edu, amount="60000.00")
    refund(edu.world, deal, "20000.00")
    assert tier_row(edu.world, edu.customer).review
    return deal


# --------------------------------------------------------------------------- services


def test_manager_sets_a_tier_by_hand_with_a_reason(edu):
    w = edu.world
    make_deal(edu, amount="1000.00")
    row = set_tier(w, edu.customer, "diamond")
    assert (row.tier, row.tier_order, row.manual, row.review) == ("diamond", 3, True, False)
    assert changes(w, edu.customer)[-1] == ("manual", "silver", "diamond")
    with w.context():
        last = TierChange.objects.filter(customer_id=edu.customer.pk).order_by("-id").first()
    assert (last.reason, last.actor_id, last.contract_total) == (
        "老客户多年支持", w.manager.pk, D("1000.00"))
    [audit] = audits(w, "vip.tier.set")
    assert (audit.target_id, audit.actor_id, audit.reason, audit.changes) == (
        edu.customer.pk, w.manager.pk, "老客户多年支持", {"tier": ["silver", "diamond"]})
    # A tier set by hand above the thresholds: later deals below it change nothing.
    make_deal(edu, amount="1000.00")
    assert tier_row(w, edu.customer).tier == "diamond"
    assert [k for k, *_ in changes(w, edu.customer)] == ["initial", "manual"]


def test_without_a_reason_refused_and_nothing_changed(edu):
    w = edu.world
    make_deal(edu, amount="1000.00")
    before = changes(w, edu.customer)
    for reason in ("", "   "):
        with pytest.raises(ValidationError) as exc:
            set_tier(w, edu.customer, "gold", reason=reason)
        assert exc.value.message_dict == {
            "reason": [zh("Give the reason: it is kept in the tier history.")]}
    with pytest.raises(ValidationError) as exc:
        set_tier(w, edu.customer, "platinum")
    assert list(exc.value.message_dict) == ["tier"]
    row = tier_row(w, edu.customer)
    assert (row.tier, row.manual) == ("silver", False)
    assert changes(w, edu.customer) == before and audits(w, "vip.tier.set") == []


def test_sales_and_another_teams_manager_are_refused(edu):
    w = edu.world
    make_deal(edu, amount="1000.00")
    manager2 = w.make_staff("manager2", [Role.MANAGER], w.team2)
    for actor in (w.sales, manager2, w.cs, w.finance):
        with pytest.raises(PermissionDenied):
            set_tier(w, edu.customer, "gold", actor=actor)
    assert tier_row(w, edu.customer).tier == "silver"
    # The admin may, and the other team's manager may for a customer of their team.
    set_tier(w, edu.customer, "gold", actor=w.admin)
    make_deal(edu, customer=edu.other_customer, amount="1000.00")
    set_tier(w, edu.other_customer, "gold", actor=manager2)
    assert tier_row(w, edu.other_customer).tier == "gold"


def test_keep_after_review(edu):
    w = edu.world
    flagged(edu)
    with pytest.raises(ValidationError) as exc:
        keep(w, edu.customer, reason="")
    assert list(exc.value.message_dict) == ["reason"]
    with pytest.raises(PermissionDenied):
        keep(w, edu.customer, actor=w.sales)
    assert tier_row(w, edu.customer).review
    row = keep(w, edu.customer)
    assert (row.tier, row.review, row.review_reason) == ("gold", False, "")
    assert changes(w, edu.customer)[-1] == ("review_cleared", "gold", "gold")
    [audit] = audits(w, "vip.tier.review_keep")
    assert audit.reason == "客户将续约"
    with pytest.raises(ValidationError):
        keep(w, edu.customer)                       # nothing to review any more


def test_setting_a_tier_closes_the_review(edu):
    w = edu.world
    flagged(edu)
    row = set_tier(w, edu.customer, "silver", reason="退款后降级")
    assert (row.tier, row.review) == ("silver", False)
    assert changes(w, edu.customer)[-1] == ("manual", "gold", "silver")


# --------------------------------------------------------------------------- pages


def test_tier_set_page_form_confirmation_and_done(edu, client_for):
    w = edu.world
    make_deal(edu, amount="1000.00")
    client = client_for(w.manager)
    url = reverse("vip:tier_set", args=[edu.customer.pk])
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "钻石卡" in html and "金卡" in html
    # No reason: refused, the choice kept.
    response = client.post(url, {"tier": "diamond", "reason": ""})
    assert response.status_code == 400
    html = response.content.decode()
    assert zh("Give the reason: it is kept in the tier history.") in html
    assert '<option value="diamond" selected>' in html
    # Valid: a confirmation page, nothing changed yet.
    response = client.post(url, {"tier": "diamond", "reason": "多年老客户"})
    assert response.status_code == 200
    assert response.templates[0].name == "vip/tier_set_confirm.html"
    assert tier_row(w, edu.customer).tier == "silver"
    # "Change" goes back to the form with the input.
    response = client.post(url, {"tier": "diamond", "reason": "多年老客户", "edit": "1"})
    assert response.templates[0].name == "vip/tier_set.html" and "多年老客户" in \
        response.content.decode()
    response = client.post(url, {"tier": "diamond", "reason": "多年老客户", "confirmed": "1"})
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:detail", args=[edu.customer.pk]) + "#vip"
    assert (tier_row(w, edu.customer).tier, changes(w, edu.customer)[-1]) == (
        "diamond", ("manual", "silver", "diamond"))


def test_tier_set_page_refuses_roles_and_other_teams(edu, client_for):
    w = edu.world
    make_deal(edu, amount="1000.00")
    manager2 = w.make_staff("manager2", [Role.MANAGER], w.team2)
    url = reverse("vip:tier_set", args=[edu.customer.pk])
    for staff in (w.sales, w.cs, w.finance):
        assert client_for(staff).get(url).status_code == 403
        assert client_for(staff).post(url, {"tier": "gold", "reason": "x",
                                            "confirmed": "1"}).status_code == 403
    # manager2 does not see team1's customer at all.
    assert client_for(manager2).post(url, {"tier": "gold", "reason": "x",
                                           "confirmed": "1"}).status_code == 404
    # A manager's own customer of another team: seen, but not theirs to set.
    own = CustomerFactory(tenant=w.tenant, actor=w.admin, owner=w.manager, team=w.team2)
    make_deal(edu, customer=own, amount="1000.00")
    assert client_for(w.manager).get(
        reverse("vip:tier_set", args=[own.pk])).status_code == 403
    assert tier_row(w, edu.customer).tier == "silver" and tier_row(w, own).tier == "silver"


def test_keep_page(edu, client_for):
    w = edu.world
    flagged(edu)
    client = client_for(w.manager)
    url = reverse("vip:tier_keep", args=[edu.customer.pk])
    html = client.get(url).content.decode()
    assert "40000.00" in html                       # the review reason is shown
    response = client.post(url, {"reason": ""})
    assert response.status_code == 400 and tier_row(w, edu.customer).review
    response = client.post(url, {"reason": "客户承诺续费"})
    assert response.status_code == 302 and not tier_row(w, edu.customer).review
    html = client.get(url).content.decode()
    assert zh("This customer's tier is not waiting for a review.") in html
    assert client_for(w.sales).post(url, {"reason": "x"}).status_code == 403


def test_other_tenant_gets_404_and_nothing_changes(edu, world_b, client_for):
    w = edu.world
    flagged(edu)
    for name in ("tier_set", "tier_keep", "tier_history", "gift_create"):
        url = reverse(f"vip:{name}", args=[edu.customer.pk])
        for staff in (world_b.admin, world_b.manager, world_b.cs):
            client = client_for(staff)
            assert client.get(url).status_code == 404, (name, staff)
            assert client.post(url, {"tier": "silver", "reason": "x",
                                     "confirmed": "1"}).status_code == 404
    row = tier_row(w, edu.customer)
    assert (row.tier, row.review) == ("gold", True)
