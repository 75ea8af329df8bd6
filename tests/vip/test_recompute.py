"""Re-evaluating every customer under a scheme version (set-based SQL): upgrades with history
after lowering thresholds, a review flag (never a downgrade) after raising them, nothing more on
a second run, buyers without a tier row backfilled, renamed codes mapped, chunks and progress,
the task's progress reaching "done", the daily job starting each version once, and two runs at
once doing the work once."""

from __future__ import annotations

import copy
import time
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone, translation

from apps.ownership.selectors import tenant_today
from apps.vip import recompute, services, tasks
from apps.vip.models import CustomerTier, TierChange, TierScheme
from apps.vip.recompute import tiers_recompute_all
from apps.vip.schemes import tier_scheme_create
from apps.vip.tiers import PRESETS
from tests.concurrency import committed, run_together
from tests.customers.factories import CustomerFactory
from tests.referrals.lifecycle_helpers import converted, customer_referrer, deal


def scheme(gold_total="50000", gold_refs=1, diamond_total="100000", diamond_refs=2,
           codes=("silver", "gold", "diamond")) -> dict:
    data = copy.deepcopy(PRESETS["default"])
    for tier, code in zip(data["tiers"], codes, strict=True):
        tier["code"] = code
    data["tiers"][1].update(min_total=gold_total, min_referrals=gold_refs)
    data["tiers"][2].update(min_total=diamond_total, min_referrals=diamond_refs)
    return data


LOWER = scheme(gold_total="30000", diamond_total="80000")
HIGHER = scheme(gold_total="70000", gold_refs=2, diamond_total="150000", diamond_refs=3)


def save(world, rules, **kw) -> TierScheme:
    return tier_scheme_create(tenant=world.tenant, actor=world.admin,
                              effective_from=kw.pop("day", tenant_today(world.tenant)),
                              name=kw.pop("name", "调整门槛"), rules=rules,
                              start_recompute=False, **kw)


def customer(world, team_member=None, **kw):
    return CustomerFactory(tenant=world.tenant, actor=team_member or world.sales, **kw)


def put(world, who, order: int, total="0", refs=0, *, code=None, computed=None,
        manual=False) -> CustomerTier:
    """A stored tier row under the default preset (as the services would have written it)."""
    codes = ("silver", "gold", "diamond")
    with world.context():
        row = CustomerTier.objects.create(
            tenant=world.tenant, customer=who, tier=code or codes[order - 1], tier_order=order,
            computed_order=order if computed is None else computed,
            contract_total=Decimal(total), successful_referrals=refs, manual=manual,
            since=timezone.now() - timezone.timedelta(days=30))
        return CustomerTier.objects.get(pk=row.pk)   # the total as stored (2 decimals)


def rows(world) -> dict[int, tuple]:
    with world.context():
        return {r.customer_id: (r.tier, r.tier_order, r.computed_order, r.review,
                                r.scheme_version, r.manual)
                for r in CustomerTier.objects.all()}


def history(world, **filters) -> list[tuple]:
    with world.context():
        return list(TierChange.objects.filter(**filters).order_by("id").values_list(
            "customer_id", "kind", "from_tier", "to_tier", "cause", "team_id",
            "contract_total", "successful_referrals", "scheme_version"))


# --------------------------------------------------------------------------- decisions

def test_lower_thresholds_upgrade_with_history_rows(world_a):
    w = world_a
    a, b, c, d = (customer(w) for _ in range(4))
    e = customer(w, w.sales_other_team)
    put(w, a, 1, "40000")             # silver → gold (30 000)
    put(w, b, 2, "90000")             # gold → diamond (80 000)
    put(w, c, 1, "10000")             # stays silver
    put(w, d, 2, "0", refs=1)         # gold by a referral: stays gold
    put(w, e, 1, "29999.99")          # just below: stays silver
    version = save(w, LOWER)
    summary = tiers_recompute_all(w.tenant)
    assert (summary.version, summary.customers, summary.upgraded, summary.reviews,
            summary.backfilled, summary.busy) == (1, 5, 2, 0, 0, False)
    assert summary.changed == 2       # rows the new version leaves as they are are not written
    assert rows(w) == {
        a.pk: ("gold", 2, 2, False, 1, False), b.pk: ("diamond", 3, 3, False, 1, False),
        c.pk: ("silver", 1, 1, False, 0, False), d.pk: ("gold", 2, 2, False, 0, False),
        e.pk: ("silver", 1, 1, False, 0, False)}
    assert history(w) == [
        (a.pk, "upgrade", "silver", "gold", "recompute:v1", w.team1.pk, Decimal("40000.00"), 0, 1),
        (b.pk, "upgrade", "gold", "diamond", "recompute:v1", w.team1.pk, Decimal("90000.00"), 0,
         1)]
    with w.context():
        upgraded = CustomerTier.objects.get(customer=a)
        assert timezone.now() - upgraded.since < timezone.timedelta(minutes=1)
        version.refresh_from_db()
    assert version.recomputed_at is not None


def test_the_same_decisions_as_the_services(world_a):
    """Every (stored tier, previous computed, facts) case decided by SQL as tiers.decide and
    services.tier_evaluate decide it, reasons included."""
    w = world_a
    cases = [(1, 1, "0", 0), (1, 1, "30000", 0), (1, 1, "0", 1), (2, 2, "100000", 0),
             (3, 3, "100000", 0), (3, 3, "20000", 0), (2, 2, "10000", 0), (3, 1, "10000", 0),
             (2, 1, "0", 0), (3, 3, "0", 2), (2, 2, "85000", 1)]
    made = []
    for order, computed, total, refs in cases:
        made.append(put(w, customer(w), order, total, refs, computed=computed,
                        manual=computed < order))
    save(w, LOWER)
    tiers_recompute_all(w.tenant)
    _version, rules = services.scheme_for(w.tenant)
    with w.context():
        stored = {r.customer_id: r for r in CustomerTier.objects.all()}
    for before in made:
        computed = services.tier_order_for(rules, bought=True, total=before.contract_total,
                                           referrals=before.successful_referrals)
        decision = services.decide(current=before.tier_order,
                                   previous_computed=before.computed_order, computed=computed)
        after = stored[before.customer_id]
        assert (after.tier_order, after.computed_order) == (
            decision.tier_order, decision.computed_order), before.__dict__
        assert after.tier == rules.by_order(decision.tier_order).code
        assert after.review == (decision.action == "review")
        if decision.action == "review":
            with translation.override("zh-hans"):
                assert after.review_reason == services._review_reason(rules, before, computed)


def test_higher_thresholds_flag_a_review_never_a_downgrade(world_a):
    w = world_a
    gold, diamond, by_hand, silver = (customer(w) for _ in range(4))
    put(w, gold, 2, "60000")                                 # 70 000 now: below gold
    put(w, diamond, 3, "120000", refs=2)                     # 150 000 / 3 now: gold
    put(w, by_hand, 3, "1000", computed=1, manual=True)      # set by hand above: no review
    put(w, silver, 1, "5000")
    save(w, HIGHER)
    summary = tiers_recompute_all(w.tenant)
    assert (summary.upgraded, summary.reviews) == (0, 2)
    after = rows(w)
    assert after[gold.pk] == ("gold", 2, 1, True, 1, False)
    assert after[diamond.pk] == ("diamond", 3, 2, True, 1, False)
    assert after[by_hand.pk] == ("diamond", 3, 1, False, 0, True)
    assert after[silver.pk] == ("silver", 1, 1, False, 0, False)
    with w.context():
        reason = CustomerTier.objects.get(customer=gold).review_reason
    with translation.override("zh-hans"):
        expected = translation.gettext(
            "The facts (contract total %(total)s, %(n)s successful referrals) now give "
            "“%(computed)s”, below the tier “%(tier)s”; tiers never go down by themselves.") % {
            "total": "60000.00", "n": 0, "computed": "银卡", "tier": "金卡"}
    assert reason == expected and "银卡" in reason and "金卡" in reason
    assert [(h[0], h[1], h[2], h[3]) for h in history(w)] == [
        (gold.pk, "review", "gold", "gold"), (diamond.pk, "review", "diamond", "diamond")]
    with w.context():
        assert TierChange.objects.get(customer=gold).reason == reason


def test_a_second_run_changes_nothing(world_a):
    w = world_a
    for total in ("40000", "90000", "10000", "60000"):
        put(w, customer(w), 2 if total == "60000" else 1, total)
    save(w, LOWER)
    first = tiers_recompute_all(w.tenant)
    before_rows = rows(w)
    with w.context():
        stamps = sorted(CustomerTier.objects.values_list("id", "updated_at"))
    before_history = history(w)
    second = tiers_recompute_all(w.tenant)
    assert first.changed == 2 and first.upgraded == 2
    assert (second.customers, second.changed, second.upgraded, second.reviews,
            second.backfilled) == (4, 0, 0, 0, 0)
    assert rows(w) == before_rows and history(w) == before_history
    with w.context():
        assert sorted(CustomerTier.objects.values_list("id", "updated_at")) == stamps


def test_a_review_is_flagged_once(world_a):
    w = world_a
    who = customer(w)
    put(w, who, 2, "60000")
    save(w, HIGHER)
    tiers_recompute_all(w.tenant)
    tiers_recompute_all(w.tenant)
    assert [h[1] for h in history(w)] == ["review"]


def test_buyers_without_a_tier_row_are_backfilled(world_a):
    w = world_a
    referrer = customer_referrer(w)
    buyer = referrer.customer
    deal(w, buyer, "20000")
    deal(w, buyer, "15000")
    converted(w, referrer, "8000")           # buyer's referral: one successful referral
    plain = customer(w, w.sales_other_team)
    deal(w, plain, "3000")
    never_bought = customer(w)
    with w.context():   # as if the tier rows had never been written (data from before VIP)
        TierChange.objects.filter(customer__in=[buyer, plain]).delete()
        CustomerTier.objects.filter(customer__in=[buyer, plain]).delete()
    save(w, LOWER)
    summary = tiers_recompute_all(w.tenant)
    assert summary.backfilled == 2
    after = rows(w)
    assert after[buyer.pk] == ("gold", 2, 2, False, 1, False)   # 35 000 and 1 referral
    assert after[plain.pk] == ("silver", 1, 1, False, 1, False)
    assert never_bought.pk not in after
    with w.context():
        row = CustomerTier.objects.get(customer=buyer)
        assert (row.contract_total, row.successful_referrals) == (Decimal("35000.00"), 1)
    initial = history(w, kind="initial", cause="recompute:v1")
    assert sorted(initial) == sorted([
        (buyer.pk, "initial", "", "gold", "recompute:v1", buyer.team_id, Decimal("35000.00"),
         1, 1),
        (plain.pk, "initial", "", "silver", "recompute:v1", w.team2.pk, Decimal("3000.00"),
         0, 1)])
    # Backfilled under the scheme's thresholds: then the chunks upgrade what it gives.
    assert [h[:4] for h in history(w, kind="upgrade", cause="recompute:v1")] == []


def test_renamed_codes_are_mapped_by_order(world_a):
    w = world_a
    a, b, c = (customer(w) for _ in range(3))
    put(w, a, 1, "1000")
    put(w, b, 2, "60000")
    put(w, c, 3, "200000")
    save(w, scheme(codes=("c", "b", "a")))
    summary = tiers_recompute_all(w.tenant)
    assert rows(w) == {a.pk: ("c", 1, 1, False, 1, False), b.pk: ("b", 2, 2, False, 1, False),
                       c.pk: ("a", 3, 3, False, 1, False)}
    assert summary.changed == 3 and history(w) == []   # a new name is not a tier change


def test_a_smaller_scheme_clamps_the_order(world_a):
    w = world_a
    top = customer(w)
    put(w, top, 3, "200000")
    two = {"tiers": [{"code": "member", "name": "会员"},
                     {"code": "vip", "name": "贵宾", "min_total": "100000"}]}
    save(w, two)
    tiers_recompute_all(w.tenant)
    assert rows(w)[top.pk] == ("vip", 2, 2, False, 1, False)
    assert history(w) == []


def test_chunks_and_progress(world_a, monkeypatch):
    w = world_a
    for total in ("40000", "1000", "90000", "1000", "35000"):
        put(w, customer(w), 1 if total != "90000" else 2, total)
    save(w, LOWER)
    monkeypatch.setattr(recompute, "CHUNK", 2)
    seen = []
    summary = tiers_recompute_all(w.tenant, progress=lambda cur, total: seen.append((cur, total)))
    assert seen == [(0, 5), (2, 5), (4, 5), (5, 5)]
    assert (summary.chunks, summary.customers, summary.upgraded) == (3, 5, 3)


def test_version_zero_is_the_default_preset(world_a):
    w = world_a
    who = customer(w)
    put(w, who, 1, "50000")           # stored below what the default gives
    summary = tiers_recompute_all(w.tenant)
    assert (summary.version, summary.upgraded) == (0, 1)
    assert rows(w)[who.pk] == ("gold", 2, 2, False, 0, False)


def test_other_tenants_are_untouched(world_a, world_b):
    mine, theirs = customer(world_a), customer(world_b)
    put(world_a, mine, 1, "40000")
    put(world_b, theirs, 1, "40000")
    save(world_a, LOWER)
    tiers_recompute_all(world_a.tenant)
    assert rows(world_a)[mine.pk][:2] == ("gold", 2)
    assert rows(world_b)[theirs.pk] == ("silver", 1, 1, False, 0, False)
    assert history(world_b) == []


# --------------------------------------------------------------------------- the task

@pytest.fixture
def queued(monkeypatch) -> list[tuple]:
    calls: list[tuple] = []
    monkeypatch.setattr(tasks, "enqueue_on_commit", lambda _name, *a: calls.append(a))
    return calls


def test_the_task_reports_progress_until_done(world_a, queued, monkeypatch):
    w = world_a
    for total in ("40000", "1000", "90000"):
        put(w, customer(w), 1, total)
    version = save(w, LOWER)
    started = tasks.recompute_start(w.tenant, actor_id=w.admin.pk, force=True)
    assert started["state"] == "queued" and started["running"] and started["version"] == 1
    assert queued == [(w.tenant.pk, 1, w.admin.pk)]
    # Asking again while it is queued joins it.
    assert tasks.recompute_start(w.tenant, force=True)["state"] == "queued"
    assert len(queued) == 1
    monkeypatch.setattr(recompute, "CHUNK", 1)
    states = []
    real_set = cache.set

    def spy(key, value, *args, **kwargs):
        if key == tasks.progress_key(w.tenant.pk):
            states.append((value["state"], value["current"], value["total"]))
        return real_set(key, value, *args, **kwargs)

    monkeypatch.setattr(tasks.cache, "set", spy)
    result = tasks.recompute_tiers(*queued[0])   # what the worker runs
    assert states == [("running", 0, 3), ("running", 1, 3), ("running", 2, 3),
                      ("running", 3, 3), ("done", 3, 3)]
    progress = tasks.recompute_progress(w.tenant)
    assert (progress["state"], progress["percent"], progress["running"]) == ("done", 100, False)
    assert progress["summary"]["upgraded"] == result["upgraded"] == 2
    with w.context():
        version.refresh_from_db()
    assert version.recomputed_at is not None


def test_a_failed_run_says_so_and_can_start_again(world_a, queued, monkeypatch):
    w = world_a
    put(w, customer(w), 1, "40000")
    save(w, LOWER)
    tasks.recompute_start(w.tenant, force=True)

    def broken(*args, **kwargs):
        raise RuntimeError("worker lost its database")

    monkeypatch.setattr(tasks, "tiers_recompute_all", broken)
    with pytest.raises(RuntimeError):
        tasks.recompute_tiers(*queued[0])
    assert tasks.recompute_progress(w.tenant)["state"] == "failed"
    assert tasks.recompute_start(w.tenant, force=True)["state"] == "queued"
    assert len(queued) == 2


def test_a_stale_run_is_started_again(world_a, queued):
    w = world_a
    save(w, LOWER)
    tasks.recompute_start(w.tenant, force=True)
    state = cache.get(tasks.progress_key(w.tenant.pk))
    cache.set(tasks.progress_key(w.tenant.pk),
              {**state, "state": "running", "at": state["at"] - tasks.STALE_SECONDS - 1})
    assert tasks.recompute_start(w.tenant, force=True)["state"] == "queued"
    assert len(queued) == 2


def test_another_version_asked_while_one_runs_follows_it(world_a, queued):
    w = world_a
    put(w, customer(w), 1, "40000")
    save(w, LOWER)
    save(w, HIGHER, day=tenant_today(w.tenant) + timezone.timedelta(days=1), name="明天")
    tasks.recompute_start(w.tenant, version=1, force=True)
    tasks.recompute_start(w.tenant, version=2, force=True)    # waits for v1
    assert queued == [(w.tenant.pk, 1, None)]
    tasks.recompute_tiers(*queued[0])
    assert queued[1] == (w.tenant.pk, 2, None)


def test_saving_a_version_for_today_starts_it_after_commit(world_a, queued,
                                                         django_capture_on_commit_callbacks):
    w = world_a
    today = tenant_today(w.tenant)
    with django_capture_on_commit_callbacks(execute=True):
        tier_scheme_create(tenant=w.tenant, actor=w.admin, effective_from=today, name="今天",
                           rules=LOWER)
    assert queued == [(w.tenant.pk, 1, w.admin.pk)]
    with django_capture_on_commit_callbacks(execute=True):
        tier_scheme_create(tenant=w.tenant, actor=w.admin,
                           effective_from=today + timezone.timedelta(days=2), name="后天",
                           rules=HIGHER)
    assert len(queued) == 1   # a later day: the daily job starts it on its day


def test_the_daily_job_starts_each_version_once(world_a, queued):
    w = world_a
    put(w, customer(w), 1, "40000")
    assert tasks.recompute_due(w.tenant.pk) == 0          # no version: nothing to do
    save(w, LOWER)
    assert tasks.recompute_due(w.tenant.pk) == 1
    assert tasks.recompute_due(w.tenant.pk) == 1          # running: joined, not started again
    assert queued == [(w.tenant.pk, 1, None)]
    tasks.recompute_tiers(*queued[0])
    assert tasks.recompute_due(w.tenant.pk) == 0          # done: nothing more
    assert len(queued) == 1


# --------------------------------------------------------------------------- at once

def pause(current: int, total: int) -> None:
    if current == 0:
        time.sleep(0.5)


@committed
def test_two_runs_at_once_do_the_work_once(world_a):
    w = world_a
    for total in ("40000", "90000", "10000", "60000"):
        put(w, customer(w), 1, total)
    save(w, LOWER)
    # Each run pauses after taking the lock, so the other one tries it meanwhile.
    results = run_together(lambda: tiers_recompute_all(w.tenant, progress=pause),
                           lambda: tiers_recompute_all(w.tenant, progress=pause))
    assert [kind for kind, _ in results] == ["ok", "ok"], results
    summaries = [value for _, value in results]
    assert sorted(s.busy for s in summaries) == [False, True]
    assert sum(s.upgraded for s in summaries) == 3
    assert len(history(w, kind="upgrade")) == 3
    assert sorted(r[:2] for r in rows(w).values()) == [
        ("diamond", 3), ("gold", 2), ("gold", 2), ("silver", 1)]


@committed
def test_chunks_run_side_by_side_outside_a_transaction(world_a, monkeypatch):
    w = world_a
    for total in ("40000", "1000", "90000", "1000", "35000"):
        put(w, customer(w), 1, total)
    save(w, LOWER)
    monkeypatch.setattr(recompute, "CHUNK", 2)
    seen = []
    summary = tiers_recompute_all(w.tenant, progress=lambda cur, total: seen.append((cur, total)))
    assert (summary.chunks, summary.customers, summary.changed, summary.upgraded) == (3, 5, 3, 3)
    assert seen[0] == (0, 5) and seen[-1] == (5, 5) and len(seen) == 4
    assert sorted(r[:2] for r in rows(w).values()) == [
        ("diamond", 3), ("gold", 2), ("gold", 2), ("silver", 1), ("silver", 1)]
    assert len(history(w, kind="upgrade", cause="recompute:v1")) == 3


def test_a_tenant_without_tiers(world_a):
    save(world_a, LOWER)
    summary = tiers_recompute_all(world_a.tenant)
    assert (summary.customers, summary.chunks, summary.changed) == (0, 0, 0)
