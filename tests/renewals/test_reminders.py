"""Renewal reminders: at the tenant's lead days (default 30 and 7) before a contract's end, to
its owner and the team's managers, once per contract and lead day -- even when the job runs
twice or two workers run at the same moment; catch-up of a missed day; never for renewed or
ended contracts nor another tenant's; the Celery task (eager, beat, a real worker)."""

from __future__ import annotations

import pytest
from celery import current_app

from apps.deals.contracts import contract_create_for_deal
from apps.deals.models import Contract
from apps.notifications.models import Notification
from apps.renewals.models import RenewalReminder
from apps.renewals.services import renewal_policy_update, renewal_reminders_send
from apps.renewals.tasks import send_reminders
from apps.tenancy.roles import Role
from apps.tenancy.services import staff_set_active
from tests.concurrency import committed, run_together
from tests.workers import celery_worker, wait_until

from .helpers import D, days, make_contract, make_deal, reminders


def contract_notes(world, staff=None) -> list[Notification]:
    """The reminder notifications (about contracts), oldest first."""
    with world.context():
        qs = Notification.objects.filter(target_type="deals.contract").select_related("recipient")
        if staff is not None:
            qs = qs.filter(recipient=staff)
        return list(qs.order_by("pk"))


@pytest.fixture
def eager(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.CELERY_TASK_EAGER_PROPAGATES = True
    yield


def test_reminders_go_out_30_and_7_days_before_the_end(world_a):
    w = world_a
    in_30 = make_contract(w, end=D + days(30))
    in_7 = make_contract(w, end=D + days(7))
    in_31 = make_contract(w, end=D + days(31))
    assert renewal_reminders_send(tenant=w.tenant, today=D) == 2
    assert reminders(w) == sorted([(in_30.pk, 30), (in_7.pk, 7)])

    assert renewal_reminders_send(tenant=w.tenant, today=D + days(1)) == 1   # in_31: 30 left
    assert renewal_reminders_send(tenant=w.tenant, today=D + days(23)) == 1  # in_30: 7 left
    assert renewal_reminders_send(tenant=w.tenant, today=D + days(24)) == 1  # in_31: 7 left
    assert reminders(w) == sorted([(in_30.pk, 30), (in_30.pk, 7), (in_7.pk, 7), (in_31.pk, 30),
                                   (in_31.pk, 7)])
    for day in range(25, 40):  # nothing more until the end and after it
        assert renewal_reminders_send(tenant=w.tenant, today=D + days(day)) == 0


def test_the_notification_names_the_contract_and_links_to_it(world_a):
    w = world_a
    contract = make_contract(w, end=D + days(30))
    renewal_reminders_send(tenant=w.tenant, today=D)
    note = contract_notes(w, w.sales)[0]
    customer = contract.customer.name
    assert note.title == f"{customer} 的合同 {contract.number} 将在 30 天后到期"
    assert note.body == "合同于 2026-03-31 到期，尚未续费。请联系客户商谈续费。"
    assert note.url == f"/renewals/contracts/{contract.pk}/"
    assert (note.kind, note.target_id) == (Notification.Kind.RENEWAL, contract.pk)


def test_recipients_are_the_owner_and_the_team_managers(world_a):
    w = world_a
    second_manager = w.make_staff("manager-b", [Role.MANAGER], w.team1)
    other_manager = w.make_staff("manager-2", [Role.MANAGER], w.team2)
    team1 = make_contract(w, w.sales2, end=D + days(7))
    team2 = make_contract(w, w.sales_other_team, end=D + days(7))
    renewal_reminders_send(tenant=w.tenant, today=D)
    got = {(n.target_id, n.recipient_id) for n in contract_notes(w)}
    assert got == {(team1.pk, w.sales2.pk), (team1.pk, w.manager.pk),
                   (team1.pk, second_manager.pk), (team2.pk, w.sales_other_team.pk),
                   (team2.pk, other_manager.pk)}


def test_a_deactivated_owner_is_skipped_the_manager_still_told(world_a):
    w = world_a
    contract = make_contract(w, w.sales2, end=D + days(7))
    staff_set_active(tenant=w.tenant, actor=w.admin, staff=w.sales2, active=False, reason="离职")
    assert renewal_reminders_send(tenant=w.tenant, today=D) == 1
    assert [(n.target_id, n.recipient_id) for n in contract_notes(w)] == [
        (contract.pk, w.manager.pk)]


def test_running_twice_sends_once(world_a):
    w = world_a
    make_contract(w, end=D + days(30))
    make_contract(w, end=D + days(7))
    assert renewal_reminders_send(tenant=w.tenant, today=D) == 2
    first = [(n.pk, n.title) for n in contract_notes(w)]
    assert len(first) == 4  # owner + manager, two contracts
    assert renewal_reminders_send(tenant=w.tenant, today=D) == 0
    assert [(n.pk, n.title) for n in contract_notes(w)] == first
    assert len(reminders(w)) == 2


def test_catch_up_sends_a_missed_reminder_once_and_never_an_outdated_one(world_a):
    """The job did not run on the exact day: a contract 25 days from its end that never got
    the 30-day reminder gets it now (once); one 5 days from its end gets only the 7-day one
    (the 30-day reminder's window has passed: the more urgent one replaces it)."""
    w = world_a
    late_30 = make_contract(w, end=D + days(25))
    late_7 = make_contract(w, end=D + days(5))
    assert renewal_reminders_send(tenant=w.tenant, today=D) == 2
    assert reminders(w) == sorted([(late_30.pk, 30), (late_7.pk, 7)])
    assert renewal_reminders_send(tenant=w.tenant, today=D + days(1)) == 0
    assert renewal_reminders_send(tenant=w.tenant, today=D + days(18)) == 1  # late_30: 7 left
    assert renewal_reminders_send(tenant=w.tenant, today=D + days(19)) == 0
    assert len(contract_notes(w, w.sales)) == 3


def test_contracts_ending_today_are_reminded_ended_ones_are_not(world_a):
    w = world_a
    today = make_contract(w, end=D)
    make_contract(w, end=D - days(1))
    assert renewal_reminders_send(tenant=w.tenant, today=D) == 1
    assert reminders(w) == [(today.pk, 7)]
    assert contract_notes(w, w.sales)[0].title == (
        f"{today.customer.name} 的合同 {today.number} 今天到期")


def test_renewed_contracts_get_no_reminder(world_a):
    w = world_a
    renewed = make_contract(w, start=D - days(300), end=D + days(30))
    deal = make_deal(w, renewed.customer, signed_on=D - days(10))
    contract_create_for_deal(tenant=w.tenant, actor=w.sales, deal=deal, start=D + days(31),
                             end=D + days(395), renews=renewed)
    open_one = make_contract(w, end=D + days(7))
    assert renewal_reminders_send(tenant=w.tenant, today=D) == 1
    assert reminders(w) == [(open_one.pk, 7)]


def test_the_tenants_lead_days_apply(world_a):
    w = world_a
    renewal_policy_update(tenant=w.tenant, actor=w.admin, lead_days=[60, 14, 1])
    in_60 = make_contract(w, end=D + days(60))
    in_30 = make_contract(w, end=D + days(30))
    in_14 = make_contract(w, end=D + days(14))
    in_1 = make_contract(w, end=D + days(1))
    assert renewal_reminders_send(tenant=w.tenant, today=D) == 4
    # Windows: 60 → 15..60, 14 → 2..14, 1 → 0..1.
    assert reminders(w) == sorted([(in_60.pk, 60), (in_30.pk, 60), (in_14.pk, 14), (in_1.pk, 1)])


def test_another_tenants_contracts_are_untouched(world_a, world_b):
    a = make_contract(world_a, end=D + days(30))
    b = make_contract(world_b, end=D + days(30))
    assert renewal_reminders_send(tenant=world_a.tenant, today=D) == 1
    assert reminders(world_a) == [(a.pk, 30)]
    assert reminders(world_b) == [] and contract_notes(world_b) == []
    assert renewal_reminders_send(tenant=world_b.tenant, today=D) == 1
    assert reminders(world_b) == [(b.pk, 30)]
    assert renewal_reminders_send(tenant=world_b.tenant.pk, today=D) == 0  # an id works too


# --------------------------------------------------------------------------- two runs at once


@committed
def test_two_workers_at_the_same_moment_send_once(world_a):
    w = world_a
    due = [make_contract(w, end=D + days(30 if i % 2 else 7)) for i in range(20)]
    results = run_together(lambda: renewal_reminders_send(tenant=w.tenant, today=D),
                           lambda: renewal_reminders_send(tenant=w.tenant, today=D))
    assert [kind for kind, _ in results] == ["ok", "ok"], results
    assert sorted(sent for _, sent in results) == [0, len(due)]
    assert len(reminders(w)) == len(due)
    assert len(contract_notes(w, w.sales)) == len(due)
    assert len(contract_notes(w, w.manager)) == len(due)


# --------------------------------------------------------------------------- Celery


def test_task_runs_per_tenant_and_is_idempotent(world_a, world_b, eager):
    from apps.ownership.selectors import tenant_today
    today = tenant_today(world_a.tenant)
    a = make_contract(world_a, end=today + days(7))
    make_contract(world_b, end=today + days(100))
    assert send_reminders.delay(world_a.tenant.pk).get() == 1
    assert send_reminders.delay(world_a.tenant.pk).get() == 0
    assert reminders(world_a) == [(a.pk, 7)] and reminders(world_b) == []


def test_beat_fans_the_reminders_out_daily(settings):
    entries = [e for e in settings.CELERY_BEAT_SCHEDULE.values()
               if e["args"] == ["renewals.send_reminders"]]
    assert len(entries) == 1 and entries[0]["task"] == "tenancy.fan_out"
    assert "renewals.send_reminders" in current_app.tasks


@pytest.mark.worker
@committed
def test_reminders_run_in_a_real_celery_worker(world_a):
    w = world_a
    from apps.ownership.selectors import tenant_today
    today = tenant_today(w.tenant)
    due = make_contract(w, end=today + days(30))
    make_contract(w, end=today + days(90))

    def sent():
        with w.context():
            return list(RenewalReminder.objects.values_list("contract_id", "lead_days"))

    with celery_worker("test-renewals") as worker:
        send_reminders.apply_async(args=[w.tenant.pk], queue=worker.queue)
        rows = wait_until(sent, worker=worker)
        assert rows == [(due.pk, 30)], worker.log()
    notes = contract_notes(w)
    assert {n.recipient_id for n in notes} == {w.sales.pk, w.manager.pk}
    assert notes[0].title.endswith("将在 30 天后到期")
    with w.context():
        assert Contract.objects.count() == 2
