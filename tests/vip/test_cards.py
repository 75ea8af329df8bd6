"""Membership card services (apps.vip.cards): issuing a first card, numbers unique per tenant,
no card without a tier, upgrade cards, loss and reissue, voiding, refusals that change nothing,
two issues at the same moment, the to-issue list (发卡) and the suggested number.

Buyers get their tier through real deals (`make_deal`: the deal hook evaluates the tier).
`buyer`, `issue`, `card_rows` and `world_b_buyer` are shared with the other card tests."""

# ruff: noqa: F811 - the imported `edu` fixture is an argument of the tests
from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from apps.core.models import AuditEntry
from apps.tenancy.context import tenant_context
from apps.vip import cards as svc
from apps.vip.models import CustomerTier, VipCard
from tests.concurrency import committed, run_together
from tests.customers.factories import CustomerFactory
from tests.deals.conftest import edu, make_deal  # noqa: F401 - the edu fixture
from tests.referrals.lifecycle_helpers import zh

pytestmark = pytest.mark.django_db


# --------------------------------------------------------------------------- shared helpers


def buyer(e, *, amount="10000.00", owner=None, name=None, customer=None):
    """A customer of `owner` (default: the salesperson of team1) who bought for `amount`
    (10 000: silver; 50 000: gold; 100 000: diamond), with the tier the deal gave."""
    w = e.world
    if customer is None:
        customer = CustomerFactory(tenant=w.tenant, actor=owner or w.sales,
                                   **({"name": name} if name else {}))
    make_deal(e, customer=customer, amount=amount)
    return customer


def issue(world, customer, number, actor=None, **kw) -> VipCard:
    return svc.card_issue(tenant=world.tenant, actor=actor or world.cs, customer=customer,
                          number=number, **kw)


def card_rows(world) -> list[tuple]:
    """(number, customer id, tier, kind, status, void reason, replaces id) of every card."""
    with world.context():
        return list(VipCard.objects.order_by("id").values_list(
            "number", "customer_id", "tier", "kind", "status", "void_reason", "replaces_id"))


def tier_of(world, customer) -> str:
    with world.context():
        return CustomerTier.objects.get(customer=customer).tier


def audit_count(world, action: str) -> int:
    with world.context():
        return AuditEntry.objects.filter(action=action).count()


def world_b_buyer(world_b, tier="silver"):
    """A tiered customer of world_b (its tier row made directly: world_b has no deal set-up)."""
    customer = CustomerFactory(tenant=world_b.tenant, actor=world_b.sales)
    with tenant_context(world_b.tenant):
        CustomerTier.objects.create(tenant=world_b.tenant, customer=customer, tier=tier,
                                    tier_order=1, computed_order=1, since=timezone.now())
    return customer


def to_issue_ids(world, staff=None, **filters) -> list[int]:
    with world.context():
        return [row.customer_id for row in svc.cards_to_issue(staff or world.cs, **filters)]


# --------------------------------------------------------------------------- issuing


def test_issue_a_first_card(edu):
    w = edu.world
    customer = buyer(edu)
    assert tier_of(w, customer) == "silver"
    card = issue(w, customer, "  vip-0001 ")
    assert (card.number, card.tier, card.kind, card.status) == ("VIP-0001", "silver", "first",
                                                                "active")
    assert card.team_id == w.team1.pk and card.issued_by_id == w.cs.pk
    assert card.issued_on == edu.today and card.replaces_id is None
    assert audit_count(w, "vip.card.issue") == 1
    # An administrator issues too, with a date in the past.
    other = buyer(edu)
    card2 = issue(w, other, "VIP-0002", actor=w.admin,
                  issued_on=edu.today.replace(day=1))
    assert card2.issued_on == edu.today.replace(day=1)


def test_the_same_number_is_fine_in_another_tenant(edu, world_b):
    w = edu.world
    issue(w, buyer(edu), "VIP000001")
    card_b = issue(world_b, world_b_buyer(world_b), "vip000001")
    assert card_b.number == "VIP000001"
    assert [r[0] for r in card_rows(w)] == ["VIP000001"]
    assert [r[0] for r in card_rows(world_b)] == ["VIP000001"]


@pytest.mark.parametrize("number, message", [
    ("", "Enter the card number."),
    ("   ", "Enter the card number."),
    ("VIP 001", "A card number holds only letters, digits and “-”."),
    ("金卡001", "A card number holds only letters, digits and “-”."),
    ("=1+2", "A card number holds only letters, digits and “-”."),
    ("A" * 31, "A card number has at most %(max)s characters."),
])
def test_bad_numbers_are_refused_and_nothing_is_saved(edu, number, message):
    w = edu.world
    customer = buyer(edu)
    with pytest.raises(ValidationError) as exc:
        issue(w, customer, number)
    assert exc.value.message_dict == {"number": [zh(message, max=30) if "%" in message
                                                 else zh(message)]}
    assert card_rows(w) == [] and audit_count(w, "vip.card.issue") == 0


def test_a_number_already_used_is_refused_with_a_field_error(edu):
    w = edu.world
    first, second = buyer(edu), buyer(edu)
    issue(w, first, "VIP000001")
    before = card_rows(w)
    with pytest.raises(ValidationError) as exc:
        issue(w, second, " vip000001")
    assert exc.value.message_dict == {"number": [zh(
        "The card number %(number)s is already used in your company.", number="VIP000001")]}
    assert card_rows(w) == before and audit_count(w, "vip.card.issue") == 1
    assert to_issue_ids(w) == [second.pk]


def test_no_card_for_a_customer_without_a_tier(edu):
    w = edu.world
    customer = CustomerFactory(tenant=w.tenant, actor=w.sales)  # never bought
    with pytest.raises(ValidationError) as exc:
        issue(w, customer, "VIP000001")
    assert exc.value.message_dict == {"customer": [zh(
        "This customer has no tier: cards are for customers who have bought.")]}
    assert card_rows(w) == []


def test_a_second_card_of_the_same_tier_is_refused(edu):
    w = edu.world
    customer = buyer(edu)
    issue(w, customer, "VIP000001")
    with pytest.raises(ValidationError) as exc:
        issue(w, customer, "VIP000002")
    assert exc.value.message_dict == {"customer": [zh(
        "This customer already has the active card %(number)s of this tier.",
        number="VIP000001")]}
    assert [r[0] for r in card_rows(w)] == ["VIP000001"]


def test_a_future_issue_date_is_refused(edu):
    import datetime as dt

    w = edu.world
    with pytest.raises(ValidationError) as exc:
        issue(w, buyer(edu), "VIP000001", issued_on=edu.today + dt.timedelta(days=1))
    assert exc.value.message_dict == {"issued_on": [zh("A card cannot be issued in the future.")]}
    assert card_rows(w) == []


def test_all_errors_at_once(edu):
    w = edu.world
    customer = CustomerFactory(tenant=w.tenant, actor=w.sales)
    with pytest.raises(ValidationError) as exc:
        issue(w, customer, "", note="x" * 201)
    assert set(exc.value.message_dict) == {"number", "note", "customer"}


@pytest.mark.parametrize("who", ["sales", "manager", "finance"])
def test_only_customer_service_and_administrators_issue(edu, who):
    w = edu.world
    customer = buyer(edu)
    with pytest.raises(PermissionDenied):
        issue(w, customer, "VIP000001", actor=getattr(w, who))
    assert card_rows(w) == []


def test_an_upgrade_card_voids_the_old_one(edu):
    w = edu.world
    customer = buyer(edu)
    old = issue(w, customer, "VIP000001")
    make_deal(edu, customer=customer, amount="45000.00")     # 55 000 in all: gold
    assert tier_of(w, customer) == "gold"
    new = issue(w, customer, "VIP000002")
    assert (new.kind, new.tier, new.replaces_id) == ("upgrade", "gold", old.pk)
    with w.context():
        old.refresh_from_db()
    assert (old.status, old.void_reason, old.voided_by_id) == ("void", "upgraded", w.cs.pk)
    assert old.voided_at is not None
    assert card_rows(w) == [
        ("VIP000001", customer.pk, "silver", "first", "void", "upgraded", None),
        ("VIP000002", customer.pk, "gold", "upgrade", "active", "", old.pk)]


# --------------------------------------------------------------------------- loss and reissue


def test_a_lost_card_is_void_and_reissued(edu):
    w = edu.world
    customer = buyer(edu, amount="60000.00")
    old = issue(w, customer, "VIP000001")
    new = svc.card_reissue(tenant=w.tenant, actor=w.cs, card=old, number="VIP000002",
                           note="顾客钱包丢失")
    assert (new.kind, new.tier, new.replaces_id, new.status) == ("reissue", "gold", old.pk,
                                                                 "active")
    assert new.issued_by_id == w.cs.pk and new.team_id == w.team1.pk
    with w.context():
        old.refresh_from_db()
    assert (old.status, old.void_reason, old.void_note) == ("void", "lost", "顾客钱包丢失")
    assert old.voided_by_id == w.cs.pk and old.voided_at is not None
    assert audit_count(w, "vip.card.reissue") == 1 and audit_count(w, "vip.card.void") == 1
    # The customer holds the card of their tier: nothing to issue.
    assert to_issue_ids(w) == []
    # The chain: the old card is replaced by the new one.
    with w.context():
        chain = svc.card_chain(new)
    assert [(c.number, getattr(c.replaced_by, "number", None)) for c in chain] == [
        ("VIP000001", "VIP000002"), ("VIP000002", None)]


def test_reissuing_a_void_card_is_refused_and_nothing_changes(edu):
    w = edu.world
    customer = buyer(edu)
    old = issue(w, customer, "VIP000001")
    svc.card_reissue(tenant=w.tenant, actor=w.cs, card=old, number="VIP000002")
    before = card_rows(w)
    with pytest.raises(ValidationError) as exc:
        svc.card_reissue(tenant=w.tenant, actor=w.admin, card=old, number="VIP000003")
    assert exc.value.message_dict == {"__all__": [zh(
        "The card %(number)s is already void (%(reason)s): only an active card can be "
        "reported lost or voided.", number="VIP000001", reason=zh("lost"))]}
    assert card_rows(w) == before and audit_count(w, "vip.card.reissue") == 1


def test_a_reissue_number_follows_the_same_rules(edu):
    w = edu.world
    a, b = buyer(edu), buyer(edu)
    card_a = issue(w, a, "VIP000001")
    issue(w, b, "VIP000002")
    before = card_rows(w)
    for number, field in (("VIP000002", "number"), ("", "number"), ("VIP 3", "number")):
        with pytest.raises(ValidationError) as exc:
            svc.card_reissue(tenant=w.tenant, actor=w.cs, card=card_a, number=number)
        assert list(exc.value.message_dict) == [field]
    assert card_rows(w) == before
    with pytest.raises(PermissionDenied):
        svc.card_reissue(tenant=w.tenant, actor=w.manager, card=card_a, number="VIP000003")
    assert card_rows(w) == before


def test_an_administrator_voids_a_card_issued_by_mistake(edu):
    w = edu.world
    customer = buyer(edu)
    card = issue(w, customer, "VIP000001")
    with pytest.raises(PermissionDenied):
        svc.card_void(tenant=w.tenant, actor=w.cs, card=card, note="发错")
    with pytest.raises(ValidationError) as exc:
        svc.card_void(tenant=w.tenant, actor=w.admin, card=card, note="  ")
    assert exc.value.message_dict == {"note": [zh("Say why: it is kept with the card.")]}
    assert card_rows(w)[0][4] == "active"
    svc.card_void(tenant=w.tenant, actor=w.admin, card=card, note="发错了客户")
    assert card_rows(w) == [("VIP000001", customer.pk, "silver", "first", "void", "other",
                             None)]
    # Due a card again; the new one is a first card (nothing active to replace).
    assert to_issue_ids(w) == [customer.pk]
    assert issue(w, customer, "VIP000002").kind == "first"
    with pytest.raises(ValidationError):
        svc.card_void(tenant=w.tenant, actor=w.admin, card=card, note="again")


# --------------------------------------------------------------------------- to issue


def test_the_to_issue_list_follows_deals_issues_and_upgrades(edu):
    w = edu.world
    assert to_issue_ids(w) == []
    first = buyer(edu, name="先买")
    second = buyer(edu, name="后买", owner=w.sales_other_team)
    assert to_issue_ids(w) == [first.pk, second.pk]             # oldest first
    issue(w, first, "VIP000001")
    assert to_issue_ids(w) == [second.pk]
    make_deal(edu, customer=first, amount="50000.00")           # 60 000: gold
    with w.context():
        rows = list(svc.cards_to_issue(w.cs))
    assert [(r.customer_id, r.tier, r.card_number, r.card_tier) for r in rows] == [
        (second.pk, "silver", None, None), (first.pk, "gold", "VIP000001", "silver")]
    # Filters: team, tier, search by name, phone and its last four digits.
    assert to_issue_ids(w, team=w.team2.pk) == [second.pk]
    assert to_issue_ids(w, team=w.team1) == [first.pk]
    assert to_issue_ids(w, tier="gold") == [first.pk]
    assert to_issue_ids(w, search="后买") == [second.pk]
    assert to_issue_ids(w, search=first.phone) == [first.pk]
    assert to_issue_ids(w, search=second.phone[-4:]) == [second.pk]
    # Managers and sales see only their customers (the pages are for customer service).
    assert to_issue_ids(w, staff=w.manager) == [first.pk]
    assert to_issue_ids(w, staff=w.sales_other_team) == [second.pk]


def test_next_card_number(edu, world_b):
    w = edu.world
    assert svc.next_card_number(w.tenant) == "VIP000001"
    issue(w, buyer(edu), "VIP000007")
    issue(w, buyer(edu), "ABC-99999999")
    issue(w, buyer(edu), "VIPX")
    assert svc.next_card_number(w.tenant) == "VIP000008"
    issue(w, buyer(edu), "VIP1000000")
    assert svc.next_card_number(w.tenant) == "VIP1000001"
    assert svc.next_card_number(world_b.tenant) == "VIP000001"


def test_visible_cards_per_role(edu):
    w = edu.world
    mine = issue(w, buyer(edu), "VIP000001")                             # sales, team1
    other = issue(w, buyer(edu, owner=w.sales_other_team), "VIP000002")  # team2

    def seen(staff):
        with w.context():
            return sorted(svc.visible_cards(staff).values_list("pk", flat=True))

    for staff in (w.admin, w.cs, w.finance):
        assert seen(staff) == sorted([mine.pk, other.pk])
    assert seen(w.manager) == [mine.pk]
    assert seen(w.sales) == [mine.pk]
    assert seen(w.sales2) == []
    assert seen(w.sales_other_team) == [other.pk]


# --------------------------------------------------------------------------- concurrency


@committed
def test_two_issues_for_one_customer_at_once_give_one_card(edu):
    w = edu.world
    customer = buyer(edu)
    results = run_together(
        lambda: issue(w, customer, "VIP000001"),
        lambda: issue(w, customer, "VIP000002", actor=w.admin))
    assert sorted(kind for kind, _ in results) == ["error", "ok"], results
    error = next(value for kind, value in results if kind == "error")
    assert isinstance(error, ValidationError) and list(error.message_dict) == ["customer"]
    rows = card_rows(w)
    assert len(rows) == 1 and rows[0][3:5] == ("first", "active")
    assert audit_count(w, "vip.card.issue") == 1


@committed
def test_two_issues_with_one_number_at_once_give_one_card(edu):
    w = edu.world
    a, b = buyer(edu), buyer(edu)
    results = run_together(lambda: issue(w, a, "VIP000001"),
                           lambda: issue(w, b, "VIP000001", actor=w.admin))
    assert sorted(kind for kind, _ in results) == ["error", "ok"], results
    error = next(value for kind, value in results if kind == "error")
    assert error.message_dict == {"number": [zh(
        "The card number %(number)s is already used in your company.", number="VIP000001")]}
    assert len(card_rows(w)) == 1


@committed
def test_a_reissue_and_an_upgrade_issue_at_once_leave_one_active_card(edu):
    w = edu.world
    customer = buyer(edu)
    card = issue(w, customer, "VIP000001")
    make_deal(edu, customer=customer, amount="50000.00")   # gold: an upgrade card is due
    results = run_together(
        lambda: svc.card_reissue(tenant=w.tenant, actor=w.cs, card=card, number="VIP000002"),
        lambda: issue(w, customer, "VIP000003", actor=w.admin))
    rows = card_rows(w)
    assert [r[4] for r in rows].count("active") == 1, (results, rows)
    with w.context():
        active = VipCard.objects.get(status="active")
    assert active.tier == "gold"
