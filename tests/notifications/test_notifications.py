"""The notification centre: inbox, open (marks read), mark all read, the API, the header badge,
and notify() writing each text in the recipient's language."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy

from apps.notifications.models import Notification
from apps.notifications.selectors import unread_count
from apps.notifications.services import (
    notification_mark_read,
    notifications_mark_all_read,
    notify,
)
from apps.tenancy.models import User

pytestmark = pytest.mark.django_db

INBOX = reverse("notifications:inbox")
API = "/api/v1/notifications/"


def send(world, recipient, title="有新的来访客户", **kw):
    return notify(tenant=world.tenant, recipients=[recipient], kind="walk_in", title=title,
                  **kw)[0]


def read_states(world):
    with world.context():
        return list(Notification.objects.order_by("pk").values_list("pk", "read_at"))


# --------------------------------------------------------------------------- notify


def test_notify_renders_in_each_recipients_language(world_a):
    w = world_a
    User.objects.filter(pk=w.sales2.user_id).update(language="en")
    w.sales2.user.refresh_from_db()
    rows = notify(tenant=w.tenant, recipients=[w.sales, w.sales2, w.sales, None],
                  kind="walk_in", title=gettext_lazy("Walk-in rotation"),
                  body=gettext_lazy("Courtesy reception"), exclude=None)
    by_recipient = {n.recipient_id: (n.title, n.body) for n in rows}
    assert by_recipient == {w.sales.pk: ("轮接", "代为接待"),
                            w.sales2.pk: ("Walk-in rotation", "Courtesy reception")}


def test_notify_skips_the_actor(world_a):
    w = world_a
    rows = notify(tenant=w.tenant, recipients=[w.sales, w.sales2], kind="other", title="x",
                  exclude=w.sales)
    assert [n.recipient_id for n in rows] == [w.sales2.pk]


# --------------------------------------------------------------------------- services


def test_mark_read_only_own(world_a):
    w = world_a
    mine = send(w, w.sales)
    theirs = send(w, w.sales2)
    n = notification_mark_read(tenant=w.tenant, actor=w.sales, notification=mine)
    assert n.read_at is not None
    first_read = n.read_at
    n = notification_mark_read(tenant=w.tenant, actor=w.sales, notification=mine)
    assert n.read_at == first_read  # reading twice keeps the first time
    with pytest.raises(Exception) as exc:
        notification_mark_read(tenant=w.tenant, actor=w.sales, notification=theirs)
    assert exc.type.__name__ == "PermissionDenied"
    with w.context():
        theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_all_read_only_own(world_a):
    w = world_a
    for _ in range(3):
        send(w, w.sales)
    other = send(w, w.sales2)
    assert notifications_mark_all_read(tenant=w.tenant, actor=w.sales) == 3
    assert notifications_mark_all_read(tenant=w.tenant, actor=w.sales) == 0
    with w.context():
        assert unread_count(w.sales) == 0 and unread_count(w.sales2) == 1
        other.refresh_from_db()
    assert other.read_at is None


# --------------------------------------------------------------------------- pages


def test_inbox_lists_own_with_filter(world_a, client_for):
    w = world_a
    read = send(w, w.sales, title="已读的通知")
    notification_mark_read(tenant=w.tenant, actor=w.sales, notification=read)
    send(w, w.sales, title="未读的通知")
    send(w, w.sales2, title="别人的通知")
    client = client_for(w.sales)
    html = client.get(INBOX).content.decode()
    assert "已读的通知" in html and "未读的通知" in html and "别人的通知" not in html
    assert "<h1 class=\"h3 mb-0\">通知</h1>" in html and "全部标为已读" in html
    html = client.get(INBOX, {"show": "unread"}).content.decode()
    assert "未读的通知" in html and "已读的通知" not in html


def test_inbox_paginates(world_a, client_for):
    w = world_a
    notify(tenant=w.tenant, recipients=[w.sales], kind="other", title="第一条")
    for i in range(25):
        notify(tenant=w.tenant, recipients=[w.sales], kind="other", title=f"通知{i:02d}")
    with w.context():
        first = Notification.objects.get(title="第一条")
        first.created_at = timezone.now() - dt.timedelta(days=1)
        first.save()
    client = client_for(w.sales)
    html = client.get(INBOX).content.decode()
    assert "第一条" not in html and "第 1 页，共 2 页" in html
    assert "第一条" in client.get(INBOX, {"page": 2}).content.decode()


def test_open_marks_read_and_goes_to_the_link(world_a, client_for):
    w = world_a
    n = send(w, w.sales, url="/customers/")
    client = client_for(w.sales)
    res = client.get(reverse("notifications:open", args=[n.pk]))
    assert res.status_code == 302 and res["Location"] == "/customers/"
    with w.context():
        n.refresh_from_db()
    assert n.read_at is not None
    m = send(w, w.sales, url="https://evil.example.com/")  # never an open redirect
    res = client.post(reverse("notifications:open", args=[m.pk]))
    assert res.status_code == 302 and res["Location"] == INBOX


def test_open_someone_elses_is_404(world_a, world_b, client_for):
    theirs = send(world_a, world_a.sales2)
    other_tenant = send(world_b, world_b.sales)
    before_a, before_b = read_states(world_a), read_states(world_b)
    client = client_for(world_a.sales)
    for n in (theirs, other_tenant):
        url = reverse("notifications:open", args=[n.pk])
        assert client.get(url).status_code == 404
        assert client.post(url).status_code == 404
    assert read_states(world_a) == before_a and read_states(world_b) == before_b


def test_mark_all_read_page(world_a, client_for):
    w = world_a
    send(w, w.sales)
    send(w, w.sales)
    send(w, w.sales2)
    res = client_for(w.sales).post(reverse("notifications:read_all"), follow=True)
    assert "已将 2 条通知标为已读。" in res.content.decode()
    with w.context():
        assert unread_count(w.sales) == 0 and unread_count(w.sales2) == 1


def test_header_badge_shows_the_unread_count(world_a, client_for):
    w = world_a
    client = client_for(w.sales)
    html = client.get(reverse("home")).content.decode()
    assert 'id="notification-bell"' in html and 'id="notification-badge"' not in html
    for _ in range(3):
        send(w, w.sales)
    send(w, w.sales2)
    html = client.get(reverse("home")).content.decode()
    assert '<span class="position-absolute top-0 start-100 translate-middle badge rounded-pill ' \
           'text-bg-danger num" id="notification-badge">3</span>' in html
    assert 'aria-label="通知（3 条未读）"' in html


def test_inbox_query_budget(world_a, client_for, django_assert_max_num_queries):
    w = world_a
    for i in range(30):
        send(w, w.sales, title=f"通知{i}", url="/customers/")
    client = client_for(w.sales)
    client.get(INBOX)  # warm up (session, language)
    # 7 for any signed-in page (savepoint, user, staff, tenant settings) + the list, its
    # count and the header badge; however many notifications there are.
    with django_assert_max_num_queries(10):
        res = client.get(INBOX)
    assert res.status_code == 200


# --------------------------------------------------------------------------- API


def test_api_list_own_and_unread(world_a, api_client_for):
    w = world_a
    read = send(w, w.sales, title="已读")
    notification_mark_read(tenant=w.tenant, actor=w.sales, notification=read)
    send(w, w.sales, title="未读")
    send(w, w.sales2, title="别人的")
    api = api_client_for(w.sales)
    body = api.get(API).json()
    assert [n["title"] for n in body["results"]] == ["未读", "已读"]
    assert [n["unread"] for n in body["results"]] == [True, False]
    assert [n["title"] for n in api.get(API, {"unread": "1"}).json()["results"]] == ["未读"]
    assert api.get(f"{API}unread-count/").json() == {"unread": 1}


def test_api_read_and_read_all(world_a, api_client_for):
    w = world_a
    a = send(w, w.sales)
    send(w, w.sales)
    api = api_client_for(w.sales)
    res = api.post(f"{API}{a.pk}/read/")
    assert res.status_code == 200 and res.json()["read_at"] and res.json()["unread"] is False
    assert api.get(f"{API}unread-count/").json() == {"unread": 1}
    assert api.post(f"{API}read-all/").json() == {"marked": 1}
    assert api.get(f"{API}unread-count/").json() == {"unread": 0}


def test_api_someone_elses_is_404(world_a, world_b, api_client_for):
    theirs = send(world_a, world_a.sales2)
    other_tenant = send(world_b, world_b.sales)
    before_a, before_b = read_states(world_a), read_states(world_b)
    api = api_client_for(world_a.sales)
    for n in (theirs, other_tenant):
        assert api.post(f"{API}{n.pk}/read/").status_code == 404
        assert api.get(f"{API}{n.pk}/read/").status_code == 404
    assert all(n["id"] not in (theirs.pk, other_tenant.pk)
               for n in api.get(API).json()["results"])
    assert read_states(world_a) == before_a and read_states(world_b) == before_b


def test_api_list_query_budget(world_a, api_client_for, django_assert_max_num_queries):
    w = world_a
    for i in range(30):
        send(w, w.sales, title=f"通知{i}")
    api = api_client_for(w.sales)
    with django_assert_max_num_queries(9):
        res = api.get(API)
    assert res.status_code == 200 and len(res.json()["results"]) == 25
