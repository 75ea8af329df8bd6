"""The renewal policy: administrators set the reminder lead days (positive, distinct, at most
365, at most 5); managers read them; field errors in Chinese; the API."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from apps.core.models import AuditEntry
from apps.renewals.models import RenewalPolicy
from apps.renewals.selectors import lead_days_for
from apps.renewals.services import renewal_policy_update

POLICY_API = "/api/v1/renewals/policy/"


def stored(world):
    with world.context():
        return list(RenewalPolicy.objects.values_list("lead_days", flat=True))


def test_defaults_then_an_update_stored_largest_first_and_audited(world_a):
    w = world_a
    with w.context():
        assert lead_days_for(w.tenant) == [30, 7]
    renewal_policy_update(tenant=w.tenant, actor=w.admin, lead_days=[7, 60, 30])
    assert stored(w) == [[60, 30, 7]]
    renewal_policy_update(tenant=w.tenant, actor=w.admin, lead_days=[15])
    assert stored(w) == [[15]]
    with w.context():
        assert lead_days_for(w.tenant) == [15]
        changes = [e.changes["lead_days"] for e in
                   AuditEntry.objects.filter(action="renewals.policy").order_by("pk")]
    assert changes == [[[30, 7], [60, 30, 7]], [[60, 30, 7], [15]]]


@pytest.mark.parametrize(("lead_days", "messages"), [
    ([], ["请至少填写一个提醒天数。"]),
    ([0, 7], ["每个提醒天数至少为 1。"]),
    ([366], ["每个提醒天数最多为 365。"]),
    ([7, 7], ["提醒天数不能重复。"]),
    ([1, 2, 3, 4, 5, 6], ["提醒天数最多填写 5 个。"]),
    ([-1, 400, 400], ["每个提醒天数至少为 1。", "每个提醒天数最多为 365。", "提醒天数不能重复。"]),
])
def test_bad_lead_days_are_field_errors_and_nothing_changes(world_a, lead_days, messages):
    w = world_a
    renewal_policy_update(tenant=w.tenant, actor=w.admin, lead_days=[30, 7])
    with pytest.raises(ValidationError) as exc:
        renewal_policy_update(tenant=w.tenant, actor=w.admin, lead_days=lead_days)
    assert exc.value.message_dict == {"lead_days": messages}
    assert stored(w) == [[30, 7]]


@pytest.mark.parametrize("role", ["manager", "sales", "cs", "finance"])
def test_only_admins_change_the_policy(world_a, role):
    with pytest.raises(PermissionDenied):
        renewal_policy_update(tenant=world_a.tenant, actor=getattr(world_a, role), lead_days=[10])
    assert stored(world_a) == []


def test_policy_page(world_a, client_for):
    w = world_a
    url = reverse("renewals:policy")
    html = client_for(w.manager).get(url).content.decode()
    assert "续费提醒于合同到期前 30、7 天发给合同归属人和团队经理。" in html
    assert 'name="lead_days"' not in html
    assert client_for(w.manager).post(url, {"lead_days": "10"}).status_code == 403
    assert client_for(w.sales).get(url).status_code == 403

    admin = client_for(w.admin)
    assert 'value="30, 7"' in admin.get(url).content.decode()
    response = admin.post(url, {"lead_days": "0，400 7 7"})
    html = response.content.decode()
    assert response.status_code == 400
    for message in ("每个提醒天数至少为 1。", "每个提醒天数最多为 365。", "提醒天数不能重复。"):
        assert message in html
    assert 'value="0，400 7 7"' in html
    response = admin.post(url, {"lead_days": "abc"})
    assert "请输入用逗号分隔的整数天数，例如 30, 7。" in response.content.decode()
    assert stored(w) == []
    response = admin.post(url, {"lead_days": "7, 45、14"}, follow=True)
    assert "续费提醒现在于合同到期前 45、14、7 天发出。" in response.content.decode()
    assert stored(w) == [[45, 14, 7]]


def test_policy_api(world_a, world_b, api_client_for):
    w = world_a
    body = api_client_for(w.manager).get(POLICY_API).json()
    assert body == {"lead_days": [30, 7], "updated_by": None, "updated_at": None}
    assert api_client_for(w.manager).put(POLICY_API, {"lead_days": [5]},
                                         format="json").status_code == 403
    assert api_client_for(w.sales).get(POLICY_API).status_code == 403
    bad = api_client_for(w.admin).put(POLICY_API, {"lead_days": [0, 0]}, format="json")
    assert bad.status_code == 400
    assert bad.json()["error"]["fields"] == {"lead_days": ["每个提醒天数至少为 1。",
                                                           "提醒天数不能重复。"]}
    ok = api_client_for(w.admin).put(POLICY_API, {"lead_days": [21, 3]}, format="json").json()
    assert ok["lead_days"] == [21, 3] and ok["updated_by"]["id"] == w.admin.pk
    assert api_client_for(world_b.admin).get(POLICY_API).json()["lead_days"] == [30, 7]
