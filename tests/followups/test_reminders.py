"""The hourly job (apps.followups.reminders.remind, with a fixed `now`): an overdue follow-up
reminds its assignee once — in the inbox, by e-mail and by SMS — then, after the plan's delay,
tells the team's manager (the administrators when the team has none) once, then, after the
grace, records the penalty for the commission engine once; done and cancelled follow-ups are
left alone; a second run sends nothing. And the SMS backends the notifications go through."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import threading
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import translation

from apps.commissions.models import PenaltyEvent
from apps.followups import services
from apps.followups.models import FollowUpTask
from apps.followups.reminders import remind
from apps.notifications import sms
from apps.notifications.models import Notification
from apps.tenancy.roles import Role
from apps.tenancy.services import team_create
from tests.followups.helpers import at, customer, reload, use_plan, zh

DUE = at(2026, 9, 30, 10, 0)
REP_MAIL, BOSS_MAIL = "rep@example.com", "boss@example.com"
REP_PHONE, BOSS_PHONE = "13800138000", "13800138001"


@pytest.fixture(autouse=True)
def _empty_sms_outbox():
    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture
def team3(world_a):
    """A team whose manager and salesperson have an e-mail address and a mobile phone."""
    w = world_a
    team = team_create(tenant=w.tenant, actor=None, name="三组")
    w.boss = w.make_staff("boss", [Role.MANAGER], team, email=BOSS_MAIL, phone=BOSS_PHONE)
    w.rep = w.make_staff("rep", [Role.SALES], team, email=REP_MAIL, phone=REP_PHONE)
    return w


def task(world, assignee, name, due=DUE, channel="phone"):
    cust = customer(world, owner=assignee, name=name)
    return services.task_create(tenant=world.tenant, actor=world.admin, customer=cust,
                                purpose="after_sale", channel=channel, due_at=due,
                                now=at(2026, 9, 29, 9, 0))


def run(world, now, capture):
    with capture(execute=True):
        return remind(world.tenant, now=now)


def inbox(world, staff) -> list[Notification]:
    with world.context():
        return list(Notification.objects.filter(recipient=staff).order_by("id"))


def n_text(singular: str, plural: str, n: int) -> str:
    with translation.override("zh-hans"):
        return translation.ngettext(singular, plural, n) % {"n": n}


def sent_mail() -> list[tuple]:
    return [(m.to, m.subject) for m in mail.outbox]


def sent_sms() -> list[str]:
    return [m.phone for m in sms.outbox]


# --------------------------------------------------------------------------- the assignee


def test_the_assignee_is_reminded_once_in_the_inbox_by_email_and_by_sms(
        team3, django_capture_on_commit_callbacks):
    w = team3
    first, second = task(w, w.rep, "王一"), task(w, w.rep, "王二")
    tomorrow = task(w, w.rep, "王三", due=at(2026, 10, 1, 10, 0))
    done = task(w, w.rep, "王四")
    services.task_complete(tenant=w.tenant, actor=w.rep, task=done, result="reached",
                           satisfaction=5, now=at(2026, 9, 30, 10, 5))
    cancelled = task(w, w.rep, "王五")
    services.task_cancel(tenant=w.tenant, actor=w.boss, task=cancelled, reason="客户出国",
                         now=at(2026, 9, 30, 9, 0))

    now = at(2026, 9, 30, 10, 30)
    assert run(w, now, django_capture_on_commit_callbacks) == {
        "reminded": 2, "escalated": 0, "penalised": 0}

    [note] = inbox(w, w.rep)
    title = n_text("%(n)s follow-up is overdue", "%(n)s follow-ups are overdue", 2)
    assert (note.kind, note.title, note.url) == ("follow_up", title, reverse("followups:my_day"))
    assert "王一" in note.body and "王二" in note.body and "王三" not in note.body
    assert sent_mail() == [([REP_MAIL], title)]
    assert reverse("followups:my_day") in mail.outbox[0].body
    assert sent_sms() == [REP_PHONE] and title in sms.outbox[0].text
    assert [reload(w, t).reminded_at for t in (first, second, tomorrow, done, cancelled)] == [
        now, now, None, None, None]
    assert inbox(w, w.boss) == []

    # The job runs again (and again an hour later): nothing more is sent.
    for later in (now, now + dt.timedelta(hours=1)):
        assert run(w, later, django_capture_on_commit_callbacks)["reminded"] == 0
    assert (len(inbox(w, w.rep)), len(mail.outbox), len(sms.outbox)) == (1, 1, 1)

    # The next day's task, once overdue, is a reminder of its own.
    assert run(w, at(2026, 10, 1, 10, 1), django_capture_on_commit_callbacks)["reminded"] == 1
    latest = inbox(w, w.rep)[-1]
    assert latest.title == n_text("%(n)s follow-up is overdue", "%(n)s follow-ups are overdue",
                                  1)
    assert "王三" in latest.body
    assert len(inbox(w, w.rep)) == 2
    assert [to for to, _subject in sent_mail()] == [[REP_MAIL], [REP_MAIL], [BOSS_MAIL]]
    assert sent_sms() == [REP_PHONE, REP_PHONE]           # (the manager: told of the first two)


def test_the_reminder_waits_for_the_plans_delay(team3, django_capture_on_commit_callbacks):
    w = team3
    use_plan(w, dt.date(2026, 9, 1), remind_after_hours=2)
    task(w, w.rep, "赵一")
    assert run(w, DUE + dt.timedelta(hours=2), django_capture_on_commit_callbacks)[
        "reminded"] == 0
    assert run(w, DUE + dt.timedelta(hours=2, minutes=1),
               django_capture_on_commit_callbacks)["reminded"] == 1
    assert len(inbox(w, w.rep)) == 1


def test_staff_without_an_address_or_phone_get_the_inbox_only(
        world_a, django_capture_on_commit_callbacks):
    w = world_a
    task(w, w.sales, "钱一")
    assert run(w, at(2026, 9, 30, 11, 0), django_capture_on_commit_callbacks)["reminded"] == 1
    assert len(inbox(w, w.sales)) == 1
    assert (mail.outbox, sms.outbox) == ([], [])


# --------------------------------------------------------------------------- the manager


def test_the_manager_is_told_after_the_escalation_delay_once(
        team3, django_capture_on_commit_callbacks):
    w = team3
    task(w, w.rep, "孙一")
    task(w, w.rep, "孙二")
    run(w, DUE + dt.timedelta(minutes=30), django_capture_on_commit_callbacks)
    assert run(w, DUE + dt.timedelta(hours=24), django_capture_on_commit_callbacks)[
        "escalated"] == 0
    assert inbox(w, w.boss) == []
    assert run(w, DUE + dt.timedelta(hours=24, minutes=1),
               django_capture_on_commit_callbacks)["escalated"] == 2
    [note] = inbox(w, w.boss)
    title = n_text("%(n)s follow-up of your team is overdue",
                   "%(n)s follow-ups of your team are overdue", 2)
    assert (note.kind, note.title, note.url) == ("follow_up", title, reverse("followups:team"))
    assert note.body == zh("Overdue for longer than the plan allows: %(people)s.",
                           people=f"{w.rep.name} 2")
    assert sent_mail()[-1] == ([BOSS_MAIL], title)
    assert BOSS_PHONE not in sent_sms()                   # managers: inbox and e-mail
    # Neither the assignee again, nor the manager of another team.
    assert len(inbox(w, w.rep)) == 1
    assert inbox(w, w.manager) == []
    assert run(w, DUE + dt.timedelta(hours=30), django_capture_on_commit_callbacks)[
        "escalated"] == 0
    assert len(inbox(w, w.boss)) == 1


def test_a_team_without_a_manager_tells_the_administrators(
        world_a, django_capture_on_commit_callbacks):
    w = world_a
    admin2 = w.make_staff("admin2", [Role.ADMIN], None, email="admin2@example.com")
    task(w, w.sales_other_team, "周一")                  # team2 has no manager
    run(w, DUE + dt.timedelta(hours=25), django_capture_on_commit_callbacks)
    assert [len(inbox(w, s)) for s in (w.admin, admin2, w.manager)] == [1, 1, 0]
    assert inbox(w, admin2)[0].body == zh("Overdue for longer than the plan allows: "
                                          "%(people)s.", people=f"{w.sales_other_team.name} 1")
    assert sent_mail() == [(["admin2@example.com"], inbox(w, admin2)[0].title)]


# --------------------------------------------------------------------------- the penalty


def penalties(world) -> list[tuple]:
    with world.context():
        return list(PenaltyEvent.objects.order_by("id").values_list(
            "staff_id", "code", "amount", "occurred_on", "source"))


def test_the_penalty_after_the_grace_once_with_the_commission_rules_amount(
        team3, django_capture_on_commit_callbacks):
    w = team3
    late = task(w, w.rep, "吴一")
    assert run(w, DUE + dt.timedelta(hours=48), django_capture_on_commit_callbacks)[
        "penalised"] == 0
    assert penalties(w) == []
    assert run(w, DUE + dt.timedelta(hours=48, minutes=1),
               django_capture_on_commit_callbacks)["penalised"] == 1
    assert penalties(w) == [(w.rep.pk, "missed_follow_up", None, dt.date(2026, 9, 30),
                             f"followup:{late.pk}")]
    with w.context():
        assert reload(w, late).penalty_id == PenaltyEvent.objects.get().pk
    for later in (DUE + dt.timedelta(hours=49), DUE + dt.timedelta(days=30)):
        assert run(w, later, django_capture_on_commit_callbacks)["penalised"] == 0
    assert len(penalties(w)) == 1
    # Still open: it can be done, and it is not penalised a second time.
    services.task_complete(tenant=w.tenant, actor=w.rep, task=late, result="reached",
                           satisfaction=4, now=DUE + dt.timedelta(days=31))
    assert len(penalties(w)) == 1


def test_the_plans_penalty_amount_or_no_penalty(team3, django_capture_on_commit_callbacks):
    w = team3
    use_plan(w, dt.date(2026, 9, 1), penalty_amount="30")
    use_plan(w, dt.date(2026, 11, 1), penalty=False)
    task(w, w.rep, "郑一")
    task(w, w.rep, "郑二", due=at(2026, 11, 2, 10, 0))
    run(w, at(2026, 10, 20, 10, 0), django_capture_on_commit_callbacks)
    assert [(p[2], p[3]) for p in penalties(w)] == [(Decimal("30.00"), dt.date(2026, 9, 30))]
    assert run(w, at(2026, 11, 20, 10, 0), django_capture_on_commit_callbacks)[
        "penalised"] == 0
    assert len(penalties(w)) == 1


def test_done_tasks_are_never_reminded_escalated_or_penalised(
        team3, django_capture_on_commit_callbacks):
    w = team3
    on_time = task(w, w.rep, "冯一")
    late = task(w, w.rep, "冯二")
    services.task_complete(tenant=w.tenant, actor=w.rep, task=on_time, result="reached",
                           satisfaction=5, now=DUE - dt.timedelta(minutes=5))
    services.task_complete(tenant=w.tenant, actor=w.rep, task=late, result="refused",
                           notes="不需要", now=DUE + dt.timedelta(hours=5))
    assert run(w, DUE + dt.timedelta(days=10), django_capture_on_commit_callbacks) == {
        "reminded": 0, "escalated": 0, "penalised": 0}
    assert (inbox(w, w.rep), inbox(w, w.boss), penalties(w)) == ([], [], [])
    assert (mail.outbox, sms.outbox) == ([], [])


def test_each_tenant_is_reminded_of_its_own_tasks_only(
        team3, world_b, django_capture_on_commit_callbacks):
    w = team3
    ours, theirs = task(w, w.rep, "陈一"), task(world_b, world_b.sales, "陈二")
    with django_capture_on_commit_callbacks(execute=True):
        assert remind(w.tenant.pk, now=DUE + dt.timedelta(days=3)) == {
            "reminded": 1, "escalated": 1, "penalised": 1}
    assert reload(world_b, theirs).reminded_at is None
    assert reload(world_b, theirs).penalty_id is None
    with world_b.context():
        assert not Notification.objects.exists()
        assert not PenaltyEvent.objects.exists()
    assert reload(w, ours).reminded_at is not None


# --------------------------------------------------------------------------- sending


def test_a_failing_mail_server_or_sms_provider_loses_nothing_else(
        team3, settings, django_capture_on_commit_callbacks, caplog):
    w = team3
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    settings.SMS_BACKEND = "apps.notifications.sms.HttpBackend"
    settings.SMS_HTTP_URL, settings.SMS_HTTP_TOKEN = "http://127.0.0.1:9/sms", "t"
    task(w, w.rep, "褚一")
    assert run(w, DUE + dt.timedelta(hours=1), django_capture_on_commit_callbacks)[
        "reminded"] == 1
    assert len(inbox(w, w.rep)) == 1                      # the inbox has it either way
    assert task_of(w, "褚一").reminded_at is not None         # and it is not reminded again
    assert "notification e-mail not sent" in caplog.text and "SMS not sent" in caplog.text


def task_of(world, name) -> FollowUpTask:
    with world.context():
        return FollowUpTask.objects.get(customer__name=name)


def test_the_file_backend_appends_one_json_line_per_message(settings, tmp_path):
    settings.SMS_BACKEND = "apps.notifications.sms.FileBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms.jsonl")
    assert sms.send_sms([sms.SmsMessage("13800138000", "您有 2 条回访逾期"),
                         sms.SmsMessage("13800138001", "第二条")]) == 2
    assert sms.send_sms([]) == 0
    lines = (tmp_path / "sms.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [
        {"phone": "13800138000", "text": "您有 2 条回访逾期"},
        {"phone": "13800138001", "text": "第二条"}]


def test_the_console_backend_prints_and_the_locmem_backend_keeps(settings, capsys):
    settings.SMS_BACKEND = "apps.notifications.sms.ConsoleBackend"
    assert sms.send_sms([sms.SmsMessage("13800138000", "你好")]) == 1
    assert "[SMS to 13800138000] 你好" in capsys.readouterr().out
    settings.SMS_BACKEND = "apps.notifications.sms.LocmemBackend"
    sms.send_sms([sms.SmsMessage("13800138000", "你好")])
    assert sms.outbox == [sms.SmsMessage("13800138000", "你好")]


class _Provider(http.server.BaseHTTPRequestHandler):
    """A stand-in SMS provider: records each request, answers with `status`."""

    status = 200
    received: list = []

    def do_POST(self):  # noqa: N802 - the http.server API
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((self.path, self.headers["Authorization"],
                                    self.headers["Content-Type"], json.loads(body)))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def provider(settings):
    _Provider.received = []
    _Provider.status = 200
    server = http.server.HTTPServer(("127.0.0.1", 0), _Provider)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.SMS_BACKEND = "apps.notifications.sms.HttpBackend"
    settings.SMS_HTTP_URL = f"http://127.0.0.1:{server.server_port}/v1/sms"
    settings.SMS_HTTP_TOKEN, settings.SMS_SIGN = "secret-token", "甲家居"
    yield _Provider
    server.shutdown()
    server.server_close()


def test_the_http_backend_posts_json_with_the_token(provider):
    assert sms.send_sms([sms.SmsMessage("13800138000", "您有 1 条回访逾期")]) == 1
    assert provider.received == [(
        "/v1/sms", "Bearer secret-token", "application/json",
        {"phone": "13800138000", "text": "您有 1 条回访逾期", "sign": "甲家居"})]


def test_a_provider_refusal_is_logged_and_counted_as_not_sent(provider, caplog):
    provider.status = 500
    assert sms.send_sms([sms.SmsMessage("13800138000", "你好")]) == 0
    assert "SMS not sent" in caplog.text
    with pytest.raises(sms.SmsError):
        sms.get_backend().send_messages([sms.SmsMessage("13800138000", "你好")])
