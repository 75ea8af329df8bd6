"""The dispute API: scoping, the steps, errors in the project's format, evidence upload."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.disputes.models import DisputeEvidence

from .conftest import PNG, credit, fresh, make_in_status, snapshot

pytestmark = pytest.mark.django_db

BASE = "/api/v1/disputes/"


def test_list_is_scoped(world_a, dispute, api_client_for):
    w = world_a
    for staff, expected in [(w.sales, [dispute.pk]), (w.sales2, [dispute.pk]),
                            (w.manager, [dispute.pk]), (w.admin, [dispute.pk]),
                            (w.sales_other_team, []), (w.cs, [])]:
        body = api_client_for(staff).get(BASE).json()
        assert [r["id"] for r in body["results"]] == expected, staff
    row = api_client_for(w.manager).get(BASE).json()["results"][0]
    assert row["status"] == "open" and row["owner"]["id"] == w.sales.pk
    assert row["allowed_actions"] == ["decide", "escalate", "evidence"]


def test_list_filters(world_a, dispute, api_client_for):
    client = api_client_for(world_a.manager)
    assert client.get(BASE, {"status": "waiting"}).json()["count"] == 1
    assert client.get(BASE, {"status": "decided"}).json()["count"] == 0
    assert client.get(BASE, {"scope": "mine"}).json()["count"] == 0


def test_propose_approve_flow(world_a, customer, dispute, api_client_for):
    w = world_a
    r = api_client_for(w.sales).post(f"{BASE}{dispute.pk}/propose/", {
        "shares": [{"staff_id": w.sales.pk, "percent": "50"},
                   {"staff_id": w.sales2.pk, "percent": "50"}], "note": "五五"}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "proposed"
    assert sorted(s["percent"] for s in r.json()["proposed_shares"]) == ["50.00", "50.00"]
    r = api_client_for(w.manager).post(f"{BASE}{dispute.pk}/approve/", {}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "approved"
    assert credit(w, customer) == sorted([(w.sales.pk, 50, False), (w.sales2.pk, 50, False)])


def test_bad_split_is_a_field_error(world_a, dispute, api_client_for):
    w = world_a
    before = snapshot(w, dispute)
    r = api_client_for(w.manager).post(f"{BASE}{dispute.pk}/decide/", {
        "outcome": "split", "note": "理由",
        "shares": [{"staff_id": w.sales.pk, "percent": "60"},
                   {"staff_id": w.sales2.pk, "percent": "30"}]}, format="json")
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "invalid"
    assert error["fields"] == {"shares": ["各方比例之和必须正好是 100%（现在是 90%）。"]}
    r = api_client_for(w.manager).post(f"{BASE}{dispute.pk}/decide/", {
        "outcome": "split", "note": "理由", "decided_owner_id": w.manager.pk,
        "shares": [{"staff_id": w.sales.pk, "percent": "50"},
                   {"staff_id": w.sales_other_team.pk, "percent": "50"}]}, format="json")
    assert r.json()["error"]["fields"] == {
        "shares": ["只有撞单双方可以分配业绩。"],
        "decided_owner_id": ["客户记录只能归撞单双方中的一方。"]}
    assert snapshot(w, dispute) == before


def test_decide_with_a_rule(world_a, customer, dispute, api_client_for):
    w = world_a
    r = api_client_for(w.manager).post(f"{BASE}{dispute.pk}/decide/", {
        "rule": "revisit_30_days", "revisit": "after", "note": "超过30天，归当值"}, format="json")
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["status"], body["outcome"], body["rule"]) == (
        "decided", "award_claimant", "revisit_30_days")
    assert body["decided_owner"]["id"] == w.sales2.pk


def test_decided_twice_is_refused(world_a, dispute, api_client_for):
    w = world_a
    make_in_status(w, dispute, "decided")
    r = api_client_for(w.manager).post(f"{BASE}{dispute.pk}/decide/", {
        "outcome": "award_claimant", "note": "改判"}, format="json")
    assert r.status_code == 400
    assert r.json()["error"]["fields"] == {
        "non_field_errors": ["此撞单已处理（已裁决），不能再次裁决。"]}


@pytest.mark.parametrize("step", ["decide", "approve"])
def test_sales_get_403(world_a, dispute, api_client_for, step):
    w = world_a
    if step == "approve":
        make_in_status(w, dispute, "proposed")
    before = snapshot(w, dispute)
    r = api_client_for(w.sales2).post(f"{BASE}{dispute.pk}/{step}/", {
        "outcome": "award_claimant", "note": "我赢"}, format="json")
    assert r.status_code == 403
    assert r.json()["error"]["status"] == 403
    assert snapshot(w, dispute) == before


def test_manager_403_on_escalated_admin_decides(world_a, dispute, api_client_for):
    w = world_a
    r = api_client_for(w.sales2).post(f"{BASE}{dispute.pk}/escalate/", {"reason": "不服"},
                                      format="json")
    assert r.status_code == 200
    r = api_client_for(w.manager).post(f"{BASE}{dispute.pk}/decide/", {
        "outcome": "award_owner", "note": "经理"}, format="json")
    assert r.status_code == 403
    assert r.json()["error"]["message"] == "此撞单已上报公司，只有管理员可以裁决。"
    r = api_client_for(w.admin).post(f"{BASE}{dispute.pk}/decide/", {
        "outcome": "confiscate", "note": "充公"}, format="json")
    assert r.status_code == 200 and r.json()["outcome"] == "confiscate"


def test_withdraw_and_reject(world_a, dispute, api_client_for):
    w = world_a
    make_in_status(w, dispute, "proposed")
    r = api_client_for(w.sales2).post(f"{BASE}{dispute.pk}/reject/", {}, format="json")
    assert r.json()["status"] == "open"
    r = api_client_for(w.sales2).post(f"{BASE}{dispute.pk}/withdraw/", {"note": "算了"},
                                      format="json")
    assert r.json()["status"] == "withdrawn"


def test_evidence_upload_and_download(world_a, dispute, api_client_for):
    w = world_a
    client = api_client_for(w.sales)
    r = client.post(f"{BASE}{dispute.pk}/evidence/",
                    {"file": SimpleUploadedFile("chat.png", PNG), "note": "聊天"},
                    format="multipart")
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["original_name"], body["content_type"], body["size"]) == (
        "chat.png", "image/png", len(PNG))
    download = api_client_for(w.manager).get(body["download_url"])
    assert download.status_code == 200 and b"".join(download.streaming_content) == PNG
    assert api_client_for(w.sales_other_team).get(body["download_url"]).status_code == 404
    listed = client.get(f"{BASE}{dispute.pk}/evidence/").json()
    assert [e["id"] for e in listed] == [body["id"]]


@pytest.mark.parametrize(("name", "content", "message"), [
    ("fake.png", b"just some text", "只能上传图片（JPEG、PNG、WebP、GIF）或 PDF 文件。"),
    ("empty.png", b"", "文件是空的。"),
])
def test_evidence_refused(world_a, dispute, api_client_for, name, content, message):
    r = api_client_for(world_a.sales).post(
        f"{BASE}{dispute.pk}/evidence/", {"file": SimpleUploadedFile(name, content)},
        format="multipart")
    assert r.status_code == 400
    assert r.json()["error"]["fields"] == {"file": [message]}
    with world_a.context():
        assert not DisputeEvidence.objects.exists()


def test_other_tenant_gets_404_and_nothing_changes(world_a, world_b, dispute, api_client_for,
                                                   client_for):
    w = world_a
    before = snapshot(w, dispute)
    api = api_client_for(world_b.admin)
    assert api.get(f"{BASE}{dispute.pk}/").status_code == 404
    for step, data in [("propose", {"shares": []}), ("approve", {}), ("reject", {}),
                       ("decide", {"outcome": "confiscate", "note": "x"}),
                       ("escalate", {"reason": "x"}), ("withdraw", {})]:
        assert api.post(f"{BASE}{dispute.pk}/{step}/", data, format="json").status_code == 404
    assert api.post(f"{BASE}{dispute.pk}/evidence/",
                    {"file": SimpleUploadedFile("a.png", PNG)},
                    format="multipart").status_code == 404
    html = client_for(world_b.admin)
    for name in ("", "propose/", "approve/", "decide/", "escalate/", "withdraw/", "reject/",
                 "evidence/"):
        assert html.get(f"/disputes/{dispute.pk}/{name}").status_code == 404
        assert html.post(f"/disputes/{dispute.pk}/{name}", {
            "outcome": "confiscate", "note": "x", "confirmed": "1", "reason": "x"}
        ).status_code == 404
    assert snapshot(w, dispute) == before
    assert fresh(w, dispute).status == "open"


def test_list_query_budget(world_a, customer, api_client_for, django_assert_max_num_queries):
    from apps.disputes import services
    from tests.customers.factories import CustomerFactory

    w = world_a
    for _ in range(10):
        c = CustomerFactory(tenant=w.tenant, actor=w.sales)
        d = services.dispute_open(tenant=w.tenant, actor=None, customer=c, claimant=w.sales2)
        services.dispute_propose(tenant=w.tenant, actor=w.sales2, dispute=d,
                                 shares={w.sales: 50, w.sales2: 50})
    client = api_client_for(w.manager)
    client.get(BASE)  # warm the session
    with django_assert_max_num_queries(12):
        body = client.get(BASE).json()
    assert body["count"] == 10
    assert all(len(r["proposed_shares"]) == 2 for r in body["results"])
