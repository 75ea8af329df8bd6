"""The referral API (/api/v1/referrals/...): list and filters, log (409 on a collision until
confirmed), detail with the reward, verify, reject, approve, pay, reward lines — roles,
refusals, other tenants, query budgets."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.disputes.models import Dispute
from apps.referrals import referrers as svc
from apps.referrals.models import Referral, RewardLine
from tests.referrals.test_referral_pages import (
    convert,
    fresh,
    link_referral,
    log,
    paid,
    protected_customer,
    ref,  # noqa: F401 (fixture)
)

pytestmark = pytest.mark.django_db
URL = "/api/v1/referrals/"


def fields(response) -> dict:
    """The field errors of a 400 answer (the project's error format)."""
    return response.json()["error"]["fields"]


def test_list_and_filters(world_a, ref, api_client_for):  # noqa: F811
    w = world_a
    verified = log(w, ref, name="李四", phone="13900131001")
    pending = convert(w, log(w, ref, name="钱二"), days_ago=10)
    other_ref = svc.referrer_register_staff(tenant=w.tenant, actor=w.admin,
                                            staff=w.sales_other_team)
    theirs = log(w, other_ref, actor=w.sales_other_team, name="周八", phone="13900131002")
    response = api_client_for(w.sales).get(URL)
    assert response.status_code == 200
    rows = {row["id"]: row for row in response.json()["results"]}
    assert set(rows) == {verified.pk, pending.pk}
    row = rows[verified.pk]
    assert (row["name"], row["phone"], row["status"], row["status_label"]) == (
        "李四", "13900131001", "verified", "已核实")
    assert row["referrer"]["name"] == "王五"
    # The manager sees the other team's referral masked.
    rows = {r["id"]: r for r in api_client_for(w.manager).get(URL).json()["results"]}
    assert (rows[theirs.pk]["name"], rows[theirs.pk]["phone"]) == ("周*", "139****1002")
    client = api_client_for(w.manager)

    def ids(**params):
        response = client.get(URL, params)
        assert response.status_code == 200, response.json()
        return {r["id"] for r in response.json()["results"]}

    assert ids(status="reward_pending") == {pending.pk}
    assert ids(ready="true") == {pending.pk}
    assert ids(search="周八") == {theirs.pk}
    assert ids(flagged="false") == {verified.pk, pending.pk, theirs.pk}
    response = client.get(URL, {"status": "nonsense"})
    assert response.status_code == 400 and "status" in fields(response)


def test_list_query_budget(world_a, ref, api_client_for, django_assert_max_num_queries):  # noqa: F811
    w = world_a
    client = api_client_for(w.sales)
    for _ in range(3):
        log(w, ref)
    client.get(URL)
    with django_assert_max_num_queries(12) as small:
        client.get(URL)
    for _ in range(6):
        log(w, ref)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert len(client.get(URL).json()["results"]) == 9


def test_log(world_a, ref, api_client_for):  # noqa: F811
    w = world_a
    client = api_client_for(w.sales)
    response = client.post(URL, {"referrer": ref.pk, "name": "李四", "phone": "13900139555",
                                 "gender": "F", "notes": "同事"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["registration"] == "registered" and body["dispute_id"] is None
    assert body["referral"]["status"] == "verified" and body["message"]
    with w.context():
        assert Referral.objects.get().customer.owner_id == w.sales.pk
    # Field errors (400, keyed by field), nothing saved.
    response = client.post(URL, {"referrer": ref.pk, "name": "", "phone": "123"},
                           format="json")
    assert response.status_code == 400 and {"name", "phone"} <= set(fields(response))
    other_ref = svc.referrer_register_staff(tenant=w.tenant, actor=w.admin,
                                            staff=w.sales_other_team)
    response = client.post(URL, {"referrer": other_ref.pk, "name": "孙九",
                                 "phone": "13900139556"}, format="json")
    assert response.status_code == 400 and "referrer" in fields(response)
    with w.context():
        assert Referral.objects.count() == 1
    # Roles: customer service and finance do not log.
    for who in (w.cs, w.finance):
        response = api_client_for(who).post(URL, {"referrer": ref.pk, "name": "孙九",
                                                  "phone": "13900139556"}, format="json")
        assert response.status_code == 403
    with w.context():
        assert Referral.objects.count() == 1


def test_log_collision_is_409_until_confirmed(world_a, ref, api_client_for):  # noqa: F811
    w = world_a
    protected_customer(w, phone="13700137003", name="赵八")
    client = api_client_for(w.sales)
    data = {"referrer": ref.pk, "name": "赵八", "phone": "13700137003"}
    response = client.post(URL, data, format="json")
    assert response.status_code == 409
    assert response.json()["match"]["masked_name"] == "赵*"
    assert response.json()["match"]["owner_name"] == w.sales2.name
    with w.context():
        assert not Dispute.objects.exists() and not Referral.objects.exists()
    response = client.post(URL, {**data, "confirm_collision": True}, format="json")
    assert response.status_code == 400 and "claim_note" in fields(response)
    response = client.post(URL, {**data, "confirm_collision": True,
                                 "claim_note": "上周接待过"}, format="json")
    assert response.status_code == 201
    body = response.json()
    with w.context():
        dispute = Dispute.objects.get()
        assert Referral.objects.get().flagged
    assert body["dispute_id"] == dispute.pk and body["referral"]["status"] == "registered"


def test_detail_with_reward_and_lines(world_a, world_b, ref, api_client_for):  # noqa: F811
    w = world_a
    referral = paid(w, ref, name="李四")
    response = api_client_for(w.manager).get(f"{URL}{referral.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "paid" and body["reward_total"] == "500.00"
    assert body["reward_explanation"] and body["reward_inputs"]
    assert [(line["kind"], line["amount"]) for line in body["lines"]] == [("reward", "500.00")]
    assert body["lines"][0]["referrer_name"] == "王五"
    # Not visible (another team's salesperson) and another tenant: 404.
    assert api_client_for(w.sales_other_team).get(f"{URL}{referral.pk}/").status_code == 404
    for action in ("", "verify/", "reject/", "approve/", "pay/"):
        method = "get" if not action else "post"
        response = getattr(api_client_for(world_b.admin), method)(f"{URL}{referral.pk}/{action}",
                                                                  {}, format="json")
        assert response.status_code == 404, action
    assert fresh(w, referral).status == "paid"


def test_verify(world_a, ref, api_client_for):  # noqa: F811
    w = world_a
    referral = link_referral(w, ref, name="孙小美")
    assert api_client_for(w.finance).post(f"{URL}{referral.pk}/verify/", {},
                                          format="json").status_code == 403
    response = api_client_for(w.sales).post(f"{URL}{referral.pk}/verify/",
                                            {"id_number": "123"}, format="json")
    assert response.status_code == 400 and "id_number" in fields(response)
    assert fresh(w, referral).status == "registered"
    response = api_client_for(w.sales).post(f"{URL}{referral.pk}/verify/", {}, format="json")
    assert response.status_code == 200 and response.json()["referral"]["status"] == "verified"
    # Twice: refused.
    response = api_client_for(w.sales).post(f"{URL}{referral.pk}/verify/", {}, format="json")
    assert response.status_code == 400 and "non_field_errors" in fields(response)


def test_verify_collision(world_a, ref, api_client_for):  # noqa: F811
    w = world_a
    protected_customer(w, phone="13700137004", name="赵九")
    referral = link_referral(w, ref, name="赵九", phone="13700137004")
    client = api_client_for(w.sales)
    assert client.post(f"{URL}{referral.pk}/verify/", {}, format="json").status_code == 409
    with w.context():
        assert not Dispute.objects.exists()
    response = client.post(f"{URL}{referral.pk}/verify/",
                           {"confirm_collision": True, "claim_note": "先来的"}, format="json")
    assert response.status_code == 200 and response.json()["dispute_id"]
    with w.context():
        assert Dispute.objects.count() == 1


def test_reject(world_a, ref, api_client_for):  # noqa: F811
    w = world_a
    referral = log(w, ref)
    pending = convert(w, log(w, ref), days_ago=10)
    client = api_client_for(w.sales)
    response = client.post(f"{URL}{referral.pk}/reject/", {"reason": "false_info"},
                           format="json")
    assert response.status_code == 400 and "note" in fields(response)
    response = client.post(f"{URL}{referral.pk}/reject/", {"reason": "bogus"}, format="json")
    assert response.status_code == 400 and "reason" in fields(response)
    # Sales may not reject a pending reward; customer service and finance nothing.
    assert client.post(f"{URL}{pending.pk}/reject/", {"reason": "duplicate"},
                       format="json").status_code == 403
    for who in (w.cs, w.finance):
        assert api_client_for(who).post(f"{URL}{referral.pk}/reject/", {"reason": "duplicate"},
                                        format="json").status_code == 403
    assert fresh(w, referral).status == "verified" and fresh(w, pending).status == "reward_pending"
    response = client.post(f"{URL}{referral.pk}/reject/", {"reason": "duplicate", "note": "重复"},
                           format="json")
    assert response.status_code == 200 and response.json()["status"] == "rejected"
    assert response.json()["rejection_reason"] == "duplicate"


def test_approve_and_pay(world_a, ref, api_client_for):  # noqa: F811
    w = world_a
    held = convert(w, log(w, ref), days_ago=0)
    response = api_client_for(w.manager).post(f"{URL}{held.pk}/approve/", {}, format="json")
    assert response.status_code == 400
    assert held.hold_until.isoformat() in fields(response)["non_field_errors"][0]
    assert fresh(w, held).status == "reward_pending"
    pending = convert(w, log(w, ref), days_ago=10)
    for who in (w.sales, w.finance, w.cs):
        assert api_client_for(who).post(f"{URL}{pending.pk}/approve/", {},
                                        format="json").status_code == 403
    response = api_client_for(w.manager).post(f"{URL}{pending.pk}/approve/", {"note": "好"},
                                              format="json")
    assert response.status_code == 200 and response.json()["status"] == "approved"
    for who in (w.sales, w.manager, w.cs):
        assert api_client_for(who).post(f"{URL}{pending.pk}/pay/", {},
                                        format="json").status_code == 403
    with w.context():
        assert not RewardLine.objects.exists()
    response = api_client_for(w.finance).post(f"{URL}{pending.pk}/pay/", {}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "paid"
    assert [line["amount"] for line in response.json()["lines"]] == ["500.00"]
    assert api_client_for(w.finance).post(f"{URL}{pending.pk}/pay/", {},
                                          format="json").status_code == 400
    with w.context():
        assert RewardLine.objects.count() == 1
        assert RewardLine.objects.get().amount == Decimal("500.00")


def test_reward_lines(world_a, world_b, ref, api_client_for):  # noqa: F811
    w = world_a
    first = paid(w, ref)
    other_ref = svc.referrer_register_staff(tenant=w.tenant, actor=w.admin,
                                            staff=w.sales_other_team)
    paid(w, other_ref, actor=w.sales_other_team, name="周八")
    lines_url = f"{URL}reward-lines/"
    response = api_client_for(w.finance).get(lines_url)
    assert response.status_code == 200 and len(response.json()["results"]) == 2
    assert api_client_for(w.finance).get(lines_url, {"search": "王五"}).json()["results"][0][
        "referral"] == first.pk
    assert api_client_for(w.finance).get(lines_url, {"month": "2001-01"}).json()["results"] == []
    assert api_client_for(w.finance).get(lines_url, {"month": "May"}).status_code == 400
    assert api_client_for(w.finance).get(lines_url, {"kind": "clawback"}).json()["results"] == []
    assert [r["referral"] for r in api_client_for(w.sales).get(lines_url).json()["results"]] \
        == [first.pk]
    assert api_client_for(w.cs).get(lines_url).status_code == 403
    assert api_client_for(world_b.finance).get(lines_url).json()["results"] == []
