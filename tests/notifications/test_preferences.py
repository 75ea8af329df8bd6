"""The notification centre's preferences: per person and kind, in-app / e-mail / SMS; notify()
honours them (one query for all recipients); the page, the API, the inbox filters, isolation."""

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import translation
from rest_framework.test import APIClient

from apps.core.models import AuditEntry
from apps.notifications import sms
from apps.notifications.models import Notification, NotificationPreference
from apps.notifications.selectors import preferences_of
from apps.notifications.services import (
    notification_preferences_reset,
    notification_preferences_save,
    notify,
)
from apps.tenancy.roles import Role

pytestmark = pytest.mark.django_db

PAGE = reverse("notifications:preferences")
INBOX = reverse("notifications:inbox")
API = reverse("api-notifications-preferences")


def zh(msgid: str) -> str:
    """What a zh-hans reader sees (the catalog's text, or the msgid until it is translated)."""
    with translation.override("zh-hans"):
        return translation.gettext(msgid)


@pytest.fixture
def rep(world_a):
    """A salesperson who can be reached by e-mail and SMS."""
    return world_a.make_staff("rep", [Role.SALES], world_a.team1, phone="13800138000",
                              email="rep@example.com")


@pytest.fixture(autouse=True)
def _outboxes():
    sms.outbox.clear()
    mail.outbox = []
    yield
    sms.outbox.clear()


def save(world, staff, values):
    return notification_preferences_save(tenant=world.tenant, actor=staff, staff=staff,
                                         values=values)


def send(world, recipients, kind="follow_up", **kw):
    return notify(tenant=world.tenant, recipients=recipients, kind=kind, title="三位客户回访逾期",
                  body="请尽快处理", url="/followups/", **kw)


def stored(world, staff=None):
    with world.context():
        qs = NotificationPreference.objects.order_by("staff_id", "kind")
        if staff is not None:
            qs = qs.filter(staff=staff)
        return list(qs.values_list("staff_id", "kind", "in_app", "email", "sms"))


def inbox_count(world, staff):
    with world.context():
        return Notification.objects.filter(recipient=staff).count()


# --------------------------------------------------------------------------- defaults and notify


def test_defaults_in_app_on_and_channels_as_the_module_asks(world_a, rep,
                                                            django_capture_on_commit_callbacks):
    w = world_a
    with w.context():
        rows = {r["kind"]: r for r in preferences_of(rep)}
    assert set(rows) == set(Notification.Kind.values)
    assert all(r["in_app"] and r["email_default"] and r["sms_default"] for r in rows.values())
    assert (rows["follow_up"]["email"], rows["follow_up"]["sms"]) == (True, True)
    assert (rows["dispute"]["email"], rows["dispute"]["sms"]) == (False, False)
    with django_capture_on_commit_callbacks(execute=True):
        send(w, [rep], email=True, sms=True)  # follow-up reminders ask for both
        send(w, [rep], kind="dispute")  # in-app only
    assert inbox_count(w, rep) == 2
    assert [m.to for m in mail.outbox] == [["rep@example.com"]]
    assert [m.phone for m in sms.outbox] == ["13800138000"]


def test_turning_email_and_sms_off_stops_them(world_a, rep, django_capture_on_commit_callbacks):
    w = world_a
    save(w, rep, {"follow_up": {"email": False, "sms": False}})
    with django_capture_on_commit_callbacks(execute=True):
        send(w, [rep], email=True, sms=True)
    assert inbox_count(w, rep) == 1  # in-app stays
    assert mail.outbox == [] and sms.outbox == []


def test_turning_email_and_sms_on_sends_what_the_module_did_not_ask(
        world_a, rep, django_capture_on_commit_callbacks):
    w = world_a
    save(w, rep, {"dispute": {"email": True, "sms": True}})
    with django_capture_on_commit_callbacks(execute=True):
        send(w, [rep], kind="dispute")
        send(w, [rep], kind="walk_in")  # another kind: still in-app only
    assert [(m.subject, m.to) for m in mail.outbox] == [("三位客户回访逾期", ["rep@example.com"])]
    assert "/followups/" in mail.outbox[0].body
    assert [m.phone for m in sms.outbox] == ["13800138000"]


def test_in_app_off_writes_no_row_but_email_still_goes(world_a, rep,
                                                      django_capture_on_commit_callbacks):
    w = world_a
    save(w, rep, {"follow_up": {"in_app": False}})
    with django_capture_on_commit_callbacks(execute=True):
        rows = send(w, [rep, w.sales], email=True)
    assert [n.recipient_id for n in rows] == [w.sales.pk]
    assert inbox_count(w, rep) == 0 and inbox_count(w, w.sales) == 1
    assert [m.to for m in mail.outbox] == [["rep@example.com"]]


def test_nothing_is_sent_when_the_decision_rolls_back(world_a, rep,
                                                      django_capture_on_commit_callbacks):
    w = world_a
    save(w, rep, {"dispute": {"email": True}})
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), w.context():
            send(w, [rep], kind="dispute")
            raise RuntimeError("the decision fails")
    assert callbacks == [] and mail.outbox == [] and inbox_count(w, rep) == 0


def test_one_preference_query_for_many_recipients(world_a, django_assert_max_num_queries,
                                                  django_capture_on_commit_callbacks):
    w = world_a
    people = [w.make_staff(f"p{i}", [Role.SALES], w.team1, email=f"p{i}@example.com")
              for i in range(12)]
    for person in people[:6]:
        save(w, person, {"dispute": {"email": True}})
    save(w, people[6], {"dispute": {"in_app": False}})
    with w.context():
        people = list(type(w.sales).objects.filter(pk__in=[p.pk for p in people])
                      .select_related("user").order_by("pk"))
    with django_capture_on_commit_callbacks(execute=True):
        # savepoints, tenant in and out, the preferences, one INSERT: whatever the count
        with django_assert_max_num_queries(8) as queries:
            rows = send(w, people, kind="dispute")
    assert sum("notifications_notificationpreference" in q["sql"]
               for q in queries.captured_queries) == 1
    assert len(rows) == 11 and len(mail.outbox) == 6


# --------------------------------------------------------------------------- the service


def test_save_keeps_untouched_defaults_and_resets(world_a, rep):
    w = world_a
    # A page of checkboxes sends every box: the module's defaults as they were stay "default".
    save(w, rep, {"follow_up": {"in_app": True, "email": True, "sms": False},
                  "dispute": {"in_app": True, "email": False, "sms": False}})
    assert stored(w, rep) == [(rep.pk, "follow_up", True, None, False)]
    with w.context():
        entry = AuditEntry.objects.get(action="notifications.preferences", target_id=rep.pk)
    assert entry.actor_id == rep.pk and entry.changes == {"follow_up.sms": [None, False]}
    assert notification_preferences_reset(tenant=w.tenant, actor=rep, staff=rep) == 1
    assert stored(w, rep) == []


def test_save_refuses_channels_that_cannot_reach_the_person(world_a):
    w = world_a  # sales has neither an e-mail address nor a mobile phone
    with pytest.raises(ValidationError) as exc:
        save(w, w.sales, {"dispute": {"email": True, "sms": True}})
    assert set(exc.value.message_dict) == {"email", "sms"}
    with pytest.raises(ValidationError) as exc:
        save(w, w.sales, {"nonsense": {"in_app": False}})
    assert "kind" in exc.value.message_dict
    assert stored(w) == []


def test_nobody_changes_someone_elses_preferences(world_a, rep):
    w = world_a
    with pytest.raises(PermissionDenied):
        notification_preferences_save(tenant=w.tenant, actor=w.admin, staff=rep,
                                      values={"dispute": {"in_app": False}})
    assert stored(w) == []


# --------------------------------------------------------------------------- the page


def test_page_shows_and_saves(world_a, rep, client_for):
    w = world_a
    client = client_for(rep)
    html = client.get(PAGE).content.decode()
    assert zh("Notification preferences") in html
    assert 'name="follow_up-email" id="id_follow_up-email"' in html
    assert 'name="follow_up-sms" id="id_follow_up-sms" aria-label=' in html
    assert "disabled" not in html.split('id="preferences-form"')[1]
    ticked = {f"{k}-in_app": "on" for k in Notification.Kind.values if k != "walk_in"}
    ticked.update({"follow_up-email": "on", "dispute-sms": "on"})  # follow-up SMS unticked
    res = client.post(PAGE, ticked, follow=True)
    assert zh("Your notification preferences were saved.") in res.content.decode()
    assert stored(w, rep) == [(rep.pk, "dispute", True, None, True),
                              (rep.pk, "follow_up", True, None, False),
                              (rep.pk, "walk_in", False, None, None)]
    html = client.get(PAGE).content.decode()
    row = html.split('id="id_walk_in-in_app"')[1].split(">")[0]
    assert "checked" not in row
    row = html.split('id="id_dispute-sms"')[1].split(">")[0]
    assert "checked" in row
    client.post(PAGE, {"reset": "1"})
    assert stored(w, rep) == []


def test_page_disables_channels_the_person_cannot_receive(world_a, client_for):
    w = world_a  # sales has neither an e-mail address nor a mobile phone
    html = client_for(w.sales).get(PAGE).content.decode()
    assert 'id="email-hint"' in html and 'id="sms-hint"' in html
    row = html.split('id="id_dispute-email"')[1].split(">")[0]
    assert "disabled" in row
    # A disabled box is not sent: the channel is left as it was, the rest is saved.
    client_for(w.sales).post(PAGE, {"dispute-in_app": "on"})
    assert sorted(r[1:] for r in stored(w, w.sales)) == sorted(
        (k, False, None, None) for k in Notification.Kind.values if k != "dispute")


def test_user_menu_links_to_the_preferences(world_a, client_for):
    html = client_for(world_a.sales).get(reverse("home")).content.decode()
    assert f'href="{PAGE}"' in html


# --------------------------------------------------------------------------- the inbox


def test_inbox_filters_by_kind_and_unread_and_links_each_row(world_a, client_for):
    w = world_a
    dispute = notify(tenant=w.tenant, recipients=[w.sales], kind="dispute", title="争议待处理",
                     url="/disputes/")[0]
    notify(tenant=w.tenant, recipients=[w.sales], kind="referral", title="转介绍已确认")
    client = client_for(w.sales)
    html = client.get(INBOX, {"kind": "dispute"}).content.decode()
    assert "争议待处理" in html and "转介绍已确认" not in html
    assert reverse("notifications:open", args=[dispute.pk]) in html
    assert '<option value="dispute" selected>' in html
    client.get(reverse("notifications:open", args=[dispute.pk]))
    html = client.get(INBOX, {"kind": "dispute", "show": "unread"}).content.decode()
    assert "争议待处理" not in html and zh("No unread notifications.") in html
    html = client.get(INBOX, {"kind": "nonsense"}).content.decode()  # unknown: all kinds
    assert "争议待处理" in html and "转介绍已确认" in html


def test_inbox_pages_keep_the_filter(world_a, client_for):
    w = world_a
    for i in range(27):
        notify(tenant=w.tenant, recipients=[w.sales], kind="dispute", title=f"争议行{i:02d}")
    notify(tenant=w.tenant, recipients=[w.sales], kind="walk_in", title="来访行")
    html = client_for(w.sales).get(INBOX, {"kind": "dispute"}).content.decode()
    assert "?kind=dispute&amp;page=2" in html or "?kind=dispute&page=2" in html
    html = client_for(w.sales).get(INBOX, {"kind": "dispute", "page": 2}).content.decode()
    assert html.count("争议行") == 2 and "来访行" not in html


# --------------------------------------------------------------------------- API


def test_api_get_and_put(world_a, rep, api_client_for):
    w = world_a
    api = api_client_for(rep)
    body = api.get(API).json()
    assert body["email_available"] is True and body["sms_available"] is True
    follow_up = next(p for p in body["preferences"] if p["kind"] == "follow_up")
    assert follow_up == {"kind": "follow_up", "label": zh("Follow-up"), "in_app": True,
                         "email": True, "sms": True, "email_default": True,
                         "sms_default": True}
    res = api.put(API, {"preferences": [{"kind": "follow_up", "sms": False},
                                        {"kind": "dispute", "in_app": False, "email": True}]},
                  format="json")
    assert res.status_code == 200
    by_kind = {p["kind"]: p for p in res.json()["preferences"]}
    assert (by_kind["follow_up"]["sms"], by_kind["follow_up"]["sms_default"]) == (False, False)
    assert by_kind["follow_up"]["email"] is True  # left out: unchanged
    assert (by_kind["dispute"]["in_app"], by_kind["dispute"]["email"]) == (False, True)
    res = api.put(API, {"preferences": [{"kind": "dispute", "in_app": True, "email": None}]},
                  format="json")
    assert res.status_code == 200
    assert stored(w, rep) == [(rep.pk, "follow_up", True, None, False)]


def test_api_refusals_change_nothing(world_a, api_client_for):
    w = world_a
    api = api_client_for(w.sales)  # no e-mail address, no phone
    res = api.put(API, {"preferences": [{"kind": "dispute", "in_app": False, "sms": True}]},
                  format="json")
    assert res.status_code == 400 and "sms" in res.json()["error"]["fields"]
    res = api.put(API, {"preferences": [{"kind": "nonsense", "in_app": False}]}, format="json")
    assert res.status_code == 400
    assert stored(w) == []
    assert api.get("/api/v1/notifications/", {"kind": "nonsense"}).status_code == 400


def test_api_and_page_only_ever_show_ones_own(world_a, world_b, rep, client_for,
                                              api_client_for):
    save(world_a, rep, {"dispute": {"in_app": False, "email": True}})
    before_a = stored(world_a)
    # Another person of the same tenant, and a person of another tenant, see their own table
    # (defaults) and their changes touch only their own rows.
    for world, person in ((world_a, world_a.sales), (world_b, world_b.sales)):
        body = api_client_for(person).get(API).json()
        assert next(p for p in body["preferences"] if p["kind"] == "dispute")["in_app"] is True
        html = client_for(person).get(PAGE).content.decode()
        assert "checked" in html.split('id="id_dispute-in_app"')[1].split(">")[0]
        api_client_for(person).put(API, {"preferences": [{"kind": "walk_in", "in_app": False}]},
                                   format="json")
        assert [r[1:3] for r in stored(world, person)] == [("walk_in", False)]
    assert stored(world_a, rep) == before_a
    with world_b.context():
        assert not NotificationPreference.objects.filter(staff=rep).exists()  # RLS: not visible


def test_anonymous_is_refused(client):
    assert client.get(PAGE).status_code == 302
    assert APIClient().get(API).status_code in (401, 403)
