"""Tiers through real deals, refunds and referrals (the hooks of apps.deals.services), and the
benefits in use: vouchers redeemed against deals (limits per period, one per deal, who may,
concurrent redemptions) and gifts (once per referral, only the customer's own successful
referrals). The default scheme (银卡/金卡/钻石卡, version 0) is in force."""
# ruff: noqa: F811 - the imported `edu` fixture is an argument of the tests

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Sum

from apps.core.models import AuditEntry
from apps.deals import services as deals
from apps.referrals.models import Referral
from apps.tenancy.context import tenant_context
from apps.vip import benefits
from apps.vip.models import CustomerTier, GiftGiven, TierChange, VoucherUse
from apps.vip.selectors import care_for_customer, care_plan, customer_vip_summary
from tests.concurrency import committed, run_together
from tests.customers.factories import CustomerFactory
from tests.deals.conftest import edu, make_deal  # noqa: F401 - the fixture
from tests.referrals.lifecycle_helpers import converted, customer_referrer, log, zh
from tests.referrals.lifecycle_helpers import deal as referral_deal

D = Decimal

# --------------------------------------------------------------------------- helpers


def tier_row(world, customer) -> CustomerTier | None:
    with world.context():
        return CustomerTier.objects.filter(customer_id=customer.pk).first()


def tier_of(world, customer) -> str | None:
    row = tier_row(world, customer)
    return row.tier if row else None


def changes(world, customer) -> list[tuple]:
    """(kind, from, to) of the customer's tier history, oldest first."""
    with world.context():
        return list(TierChange.objects.filter(customer_id=customer.pk).order_by("created_at", "id")
                    .values_list("kind", "from_tier", "to_tier"))


def refund(world, deal, amount, actor=None):
    return deals.deal_refund(tenant=world.tenant, actor=actor or world.admin, deal=deal,
                             amount=D(amount), refunded_on=deal.signed_on, reason="客户退款")


def redeem(world, deal, amount, actor=None, **kw):
    return benefits.voucher_redeem(tenant=world.tenant, actor=actor or world.admin, deal=deal,
                                   amount=amount, **kw)


def vouchers(world, customer=None) -> list[tuple]:
    with world.context():
        rows = VoucherUse.objects.order_by("id")
        if customer is not None:
            rows = rows.filter(customer_id=customer.pk)
        return list(rows.values_list("deal_id", "amount", "tier", "period_start"))


def gold_customer(edu, amount="60000.00", **kw):
    """A customer of sales (team1) whose first deal makes them Gold: (customer, deal)."""
    customer = kw.pop("customer", None) or CustomerFactory(tenant=edu.tenant, actor=edu.world.sales)
    deal = make_deal(edu, customer=customer, amount=amount, **kw)
    assert tier_of(edu.world, customer) == "gold"
    return customer, deal


def buyer_referrer(world, amount="1000", **kw):
    """A customer referrer who bought once (Silver)."""
    referrer = customer_referrer(world, **kw)
    referral_deal(world, referrer.customer, amount)
    return referrer


def error_messages(exc: ValidationError, field: str) -> list[str]:
    return exc.message_dict.get(field, [])


# --------------------------------------------------------------------------- evaluation


@pytest.mark.django_db
def test_49999_99_stays_silver_and_the_cent_to_50000_makes_gold(edu):
    w = edu.world
    make_deal(edu, amount="49999.99")
    assert tier_of(w, edu.customer) == "silver"
    make_deal(edu, amount="0.01")
    row = tier_row(w, edu.customer)
    assert (row.tier, row.contract_total, row.manual, row.review) == (
        "gold", D("50000.00"), False, False)
    assert changes(w, edu.customer) == [("initial", "", "silver"), ("upgrade", "silver", "gold")]


@pytest.mark.django_db
def test_exactly_50000_is_gold_and_exactly_100000_is_diamond(edu):
    w = edu.world
    make_deal(edu, amount="50000.00")
    assert tier_of(w, edu.customer) == "gold"
    make_deal(edu, amount="49999.99")
    assert tier_of(w, edu.customer) == "gold"       # 99 999.99: still Gold
    make_deal(edu, amount="0.01")
    row = tier_row(w, edu.customer)
    assert (row.tier, row.contract_total) == ("diamond", D("100000.00"))
    assert changes(w, edu.customer) == [("initial", "", "gold"), ("upgrade", "gold", "diamond")]
    with w.context():
        last = TierChange.objects.filter(customer_id=edu.customer.pk).order_by("-id").first()
    assert last.cause.startswith("deal:") and last.contract_total == D("100000.00")


@pytest.mark.django_db
def test_first_and_second_successful_referral_make_gold_then_diamond(world_a):
    w = world_a
    referrer = buyer_referrer(w)
    assert tier_of(w, referrer.customer) == "silver"
    referral, _ = converted(w, referrer, "3000")
    assert referral.status in Referral.SUCCESS_STATUSES
    row = tier_row(w, referrer.customer)
    assert (row.tier, row.successful_referrals, row.contract_total) == ("gold", 1, D("1000.00"))
    converted(w, referrer, "3000")
    assert tier_of(w, referrer.customer) == "diamond"
    assert changes(w, referrer.customer) == [
        ("initial", "", "silver"), ("upgrade", "silver", "gold"),
        ("upgrade", "gold", "diamond")]
    with w.context():
        causes = list(TierChange.objects.filter(customer_id=referrer.customer.pk, kind="upgrade")
                      .values_list("cause", flat=True))
    assert all(c.startswith("referral:") for c in causes)


@pytest.mark.django_db
def test_a_referral_of_someone_who_never_bought_gives_no_tier(world_a):
    w = world_a
    referrer = customer_referrer(w)
    converted(w, referrer, "3000")
    assert tier_row(w, referrer.customer) is None


@pytest.mark.django_db
def test_refund_below_the_threshold_flags_for_review_and_never_downgrades(edu):
    w = edu.world
    deal = make_deal(edu, amount="60000.00")
    assert tier_of(w, edu.customer) == "gold"
    refund(w, deal, "10000.00")                      # 50 000 left: still Gold by the thresholds
    row = tier_row(w, edu.customer)
    assert (row.tier, row.review, row.contract_total) == ("gold", False, D("50000.00"))
    refund(w, deal, "0.01")                           # 49 999.99: below Gold
    row = tier_row(w, edu.customer)
    assert (row.tier, row.tier_order, row.computed_order, row.review) == ("gold", 2, 1, True)
    assert "49999.99" in row.review_reason and "金卡" in row.review_reason
    assert changes(w, edu.customer)[-1] == ("review", "gold", "gold")
    with w.context():
        last = TierChange.objects.filter(customer_id=edu.customer.pk).order_by("-id").first()
    assert last.reason == row.review_reason and last.cause.startswith("refund:")
    # A further refund keeps the flag without a second history row.
    refund(w, deal, "1000.00")
    assert [k for k, *_ in changes(w, edu.customer)].count("review") == 1
    assert tier_of(w, edu.customer) == "gold"


# --------------------------------------------------------------------------- vouchers


@pytest.mark.django_db
def test_exactly_the_tier_amount_is_allowed_one_cent_more_is_refused(edu):
    w = edu.world
    customer, deal = gold_customer(edu)
    with pytest.raises(ValidationError) as exc:
        redeem(w, deal, "500.01")
    [message] = error_messages(exc.value, "amount")
    assert "500.00" in message                       # how much is left
    assert vouchers(w) == []
    use = redeem(w, deal, "500", note="签约抵用")
    assert (use.amount, use.tier, use.period_start, use.created_by_id, use.note) == (
        D("500.00"), "gold", dt.date(edu.today.year, 1, 1), w.admin.pk, "签约抵用")
    with w.context():
        [audit] = AuditEntry.objects.filter(action="vip.voucher.redeem")
    assert (audit.target_id, audit.actor_id, audit.changes["amount"], audit.changes["left"]) == (
        use.pk, w.admin.pk, "500.00", "0.00")
    # The year is used up: another deal of the same year gets nothing more.
    second = make_deal(edu, customer=customer, amount="1000.00")
    with pytest.raises(ValidationError) as exc:
        redeem(w, second, "0.01")
    assert exc.value.message_dict["amount"] == [zh(
        "The voucher of the tier “%(tier)s” (%(amount)s %(period)s) is used up for this period.",
        tier="金卡", amount="500", period=zh("per calendar year"))]
    assert len(vouchers(w, customer)) == 1


@pytest.mark.django_db
def test_the_limit_counts_what_was_used_before_and_says_what_is_left(edu):
    w = edu.world
    customer, deal = gold_customer(edu)
    redeem(w, deal, "120.50")
    second = make_deal(edu, customer=customer, amount="2000.00")
    with pytest.raises(ValidationError) as exc:
        redeem(w, second, "379.51")
    [message] = error_messages(exc.value, "amount")
    assert "379.50" in message and "120.50" in message
    redeem(w, second, "379.50")
    with w.context():
        total = VoucherUse.objects.filter(customer_id=customer.pk).aggregate(t=Sum("amount"))["t"]
    assert total == D("500.00")


@pytest.mark.django_db
def test_a_deal_of_another_period_allows_again(edu):
    w = edu.world
    customer, deal = gold_customer(edu)
    redeem(w, deal, "500")
    last_year = make_deal(edu, customer=customer, amount="3000.00",
                          signed_on=dt.date(edu.today.year - 1, 6, 1))
    use = redeem(w, last_year, "500")
    assert use.period_start == dt.date(edu.today.year - 1, 1, 1)
    assert sorted(v[3].year for v in vouchers(w, customer)) == [edu.today.year - 1,
                                                                edu.today.year]


@pytest.mark.django_db
def test_one_voucher_per_deal(edu):
    w = edu.world
    _customer, deal = gold_customer(edu)
    redeem(w, deal, "100")
    with pytest.raises(ValidationError) as exc:
        redeem(w, deal, "100")
    assert exc.value.message_dict["deal"] == [
        zh("A voucher was already redeemed against this deal (one per deal).")]
    assert len(vouchers(w)) == 1


@pytest.mark.django_db
def test_deal_of_another_customer_or_tenant_refused(edu, world_b):
    w = edu.world
    customer, deal = gold_customer(edu)
    other, other_deal = gold_customer(edu)
    with pytest.raises(ValidationError) as exc:
        redeem(w, other_deal, "100", customer=customer)
    assert list(exc.value.message_dict) == ["deal"]
    b_customer = CustomerFactory(tenant=world_b.tenant, actor=world_b.sales)
    b_deal = referral_deal(world_b, b_customer, "60000")
    with pytest.raises(ValidationError) as exc:
        redeem(w, b_deal, "100")
    assert exc.value.message_dict == {"deal": [zh("Unknown deal.")]}
    assert vouchers(w) == [] and vouchers(world_b) == []


@pytest.mark.django_db
def test_no_tier_no_voucher_and_not_above_the_deal(edu):
    w = edu.world
    # Silver has no voucher.
    deal = make_deal(edu, amount="1000.00")
    with pytest.raises(ValidationError) as exc:
        redeem(w, deal, "10")
    assert exc.value.message_dict == {"deal": [zh("The tier “%(tier)s” has no voucher.",
                                                  tier="银卡")]}
    # A Gold customer's small deal: the voucher cannot exceed it (net of refunds).
    customer, _ = gold_customer(edu)
    small = make_deal(edu, customer=customer, amount="300.00")
    refund(w, small, "100.00")
    with pytest.raises(ValidationError) as exc:
        redeem(w, small, "200.01")
    assert "200.00" in error_messages(exc.value, "amount")[0]
    for bad in ("0", "-5", "1.234", "abc", ""):
        with pytest.raises(ValidationError) as exc:
            redeem(w, small, bad)
        assert "amount" in exc.value.message_dict, bad
    assert vouchers(w) == []


@pytest.mark.django_db
def test_who_may_redeem(edu):
    w = edu.world
    customer, deal = gold_customer(edu)
    for actor in (w.cs, w.finance):
        with pytest.raises(PermissionDenied):
            redeem(w, deal, "10", actor=actor)
    # sales3 (team2) does not see a team1 deal: for them it does not exist.
    with pytest.raises(ValidationError) as exc:
        redeem(w, deal, "10", actor=w.sales_other_team)
    assert exc.value.message_dict == {"deal": [zh("Unknown deal.")]}
    assert vouchers(w) == []
    # The owner of the customer (sales) and the team's manager may.
    redeem(w, deal, "10", actor=w.sales)
    second = make_deal(edu, customer=customer, amount="1000.00")
    redeem(w, second, "10", actor=w.manager)
    assert [v[1] for v in vouchers(w)] == [D("10.00"), D("10.00")]


@committed
def test_concurrent_redemptions_cannot_overspend(edu):
    w = edu.world
    customer, first = gold_customer(edu)
    second = make_deal(edu, customer=customer, amount="5000.00")
    results = run_together(lambda: redeem(w, first, "300"), lambda: redeem(w, second, "300"))
    kinds = sorted(kind for kind, _ in results)
    assert kinds == ["error", "ok"], results
    [error] = [value for kind, value in results if kind == "error"]
    assert isinstance(error, ValidationError) and "200.00" in error.message_dict["amount"][0]
    with w.context():
        assert VoucherUse.objects.aggregate(t=Sum("amount"))["t"] == D("300.00")


@committed
def test_two_first_deals_of_a_customer_at_once_give_one_tier_and_its_upgrade(edu):
    """Deal entry skips the lock query for a customer's first deal: two first deals at the same
    moment still give one tier row, and the second evaluation sees both deals."""
    w = edu.world
    customer = CustomerFactory(tenant=edu.tenant, actor=w.sales)
    results = run_together(lambda: make_deal(edu, customer=customer, amount="30000.00"),
                           lambda: make_deal(edu, customer=customer, amount="30000.00"))
    assert [kind for kind, _ in results] == ["ok", "ok"], results
    row = tier_row(w, customer)
    assert (row.tier, row.contract_total) == ("gold", D("60000.00"))
    assert changes(w, customer) == [("initial", "", "silver"), ("upgrade", "silver", "gold")]


# --------------------------------------------------------------------------- gifts


def gift(world, customer, actor=None, **kw):
    return benefits.gift_record(tenant=world.tenant, actor=actor or world.cs, customer=customer,
                                **kw)


@pytest.mark.django_db
def test_gift_once_per_successful_referral_of_the_customer(world_a):
    w = world_a
    referrer = buyer_referrer(w)
    first, _ = converted(w, referrer, "3000")
    assert tier_of(w, referrer.customer) == "gold"
    given = gift(w, referrer.customer, referral=first)
    assert (given.description, given.value, given.tier, given.referral_id, given.given_by_id) == (
        "380元百货礼品一份", D("380.00"), "gold", first.pk, w.cs.pk)
    with w.context():
        [audit] = AuditEntry.objects.filter(action="vip.gift.record")
    assert (audit.target_id, audit.changes["referral"]) == (given.pk, first.pk)
    with pytest.raises(ValidationError) as exc:
        gift(w, referrer.customer, referral=first, description="再送一份")
    assert exc.value.message_dict == {"referral": [zh(
        "A gift was already recorded for this referral (on %(day)s).",
        day=given.given_on.isoformat())]}
    with w.context():
        assert GiftGiven.objects.count() == 1


@pytest.mark.django_db
def test_gift_only_for_the_customers_own_successful_referrals(world_a):
    w = world_a
    referrer = buyer_referrer(w)
    other = buyer_referrer(w, phone="13800138002", name="赵七", seq=12)
    theirs, _ = converted(w, other, "3000")
    pending = log(w, referrer).referral                  # verified, nobody bought yet
    with pytest.raises(ValidationError) as exc:
        gift(w, referrer.customer, referral=theirs, description="礼品")
    assert exc.value.message_dict == {"referral": [zh("Choose a referral made by this customer.")]}
    with pytest.raises(ValidationError) as exc:
        gift(w, referrer.customer, referral=pending, description="礼品")
    assert exc.value.message_dict == {"referral": [zh(
        "Only a successful referral (the person referred bought) earns a gift.")]}
    with w.context():
        assert GiftGiven.objects.count() == 0
    # Without a referral: a gift with a description of one's own (no value).
    given = gift(w, referrer.customer, description="新年台历")
    assert (given.description, given.value, given.referral_id) == ("新年台历", None, None)


@pytest.mark.django_db
def test_gift_needs_a_tier_and_the_right_role(world_a):
    w = world_a
    nobody = customer_referrer(w)                        # never bought: no tier
    with pytest.raises(ValidationError) as exc:
        gift(w, nobody.customer)
    assert list(exc.value.message_dict) == ["customer"]
    referrer = buyer_referrer(w, phone="13800138003", name="钱八", seq=13)
    # Silver has no gift text: a description is needed.
    with pytest.raises(ValidationError) as exc:
        gift(w, referrer.customer)
    assert exc.value.message_dict == {"description": [zh("Describe the gift.")]}
    for actor in (w.sales, w.finance, w.sales_other_team):
        with pytest.raises(PermissionDenied):
            gift(w, referrer.customer, actor=actor, description="礼品")
    with pytest.raises(ValidationError) as exc:
        gift(w, referrer.customer, description="礼品", value="-1",
             given_on=dt.date.today() + dt.timedelta(days=3))
    assert set(exc.value.message_dict) == {"value", "given_on"}
    with w.context():
        assert GiftGiven.objects.count() == 0
    gift(w, referrer.customer, actor=w.manager, description="礼品", value="99.50")


# --------------------------------------------------------------------------- reads


@pytest.mark.django_db
def test_summary_shows_vouchers_gifts_due_next_tier_and_care(world_a):
    w = world_a
    referrer = buyer_referrer(w)
    first, _ = converted(w, referrer, "3000")
    converted(w, referrer, "3000")                       # Diamond, 2 gifts due
    gift(w, referrer.customer, referral=first)
    with w.context():
        summary = customer_vip_summary(referrer.customer, w.admin)
    assert (summary["tier_name"], summary["grade"]) == ("钻石卡", "A")
    assert (summary["gifts_given"], summary["gifts_due"], summary["next"]) == (1, 1, None)
    assert summary["voucher"].allowance == D("800") and summary["voucher"].left == D("800")
    assert summary["can_set"] and summary["can_gift"]
    assert [h.kind for h in summary["history"]] == ["upgrade", "upgrade", "initial"]
    with w.context():
        care = care_for_customer(referrer.customer)
    assert (care.tier, care.sms_every_months, care.phone_every_months,
            care.birthday_greeting) == ("diamond", 1, 3, True)
    plan = {row["tier"]: row for row in care_plan(w.tenant)}
    assert plan["gold"]["phone_every_months"] == 6 and plan["silver"]["sms_every_months"] == 0


@pytest.mark.django_db
def test_summary_next_tier_says_what_is_missing(edu):
    w = edu.world
    make_deal(edu, amount="12000.00")
    with tenant_context(w.tenant):
        summary = customer_vip_summary(edu.customer, w.sales)
    assert summary["next"]["tier"].code == "gold"
    assert (summary["next"]["missing_total"], summary["next"]["missing_referrals"]) == (
        D("38000.00"), 1)
    assert not summary["can_set"] and not summary["can_gift"]
