"""API sign-in: token obtain / refuse / logout, and /api/v1/me/."""

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.core.models import AuditEntry
from apps.tenancy.models import Tenant
from apps.tenancy.services import staff_set_active

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests-123"
TOKEN_URL = "/api/v1/auth/token/"
LOGOUT_URL = "/api/v1/auth/logout/"
ME_URL = "/api/v1/me/"


def obtain(username, password=PASSWORD):
    return APIClient().post(TOKEN_URL, {"username": username, "password": password}, format="json")


def token_client(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_urls_are_named():
    assert reverse("api-auth-token") == TOKEN_URL
    assert reverse("api-auth-logout") == LOGOUT_URL
    assert reverse("api-me") == ME_URL


def test_obtain_token_and_use_it(world_a):
    response = obtain(world_a.sales.user.username)
    assert response.status_code == 200
    key = response.json()["token"]
    assert Token.objects.get(user=world_a.sales.user).key == key
    me = token_client(key).get(ME_URL)
    assert me.status_code == 200
    assert me.json()["staff"]["id"] == world_a.sales.pk
    # Asking again returns the same token (one per user).
    assert obtain(world_a.sales.user.username).json()["token"] == key
    with world_a.context():
        assert AuditEntry.objects.filter(action="auth.token_issue", actor=world_a.sales).count() == 1


def test_wrong_password_is_refused(world_a):
    response = obtain(world_a.sales.user.username, "wrong")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and error["fields"]["non_field_errors"]
    assert not Token.objects.filter(user=world_a.sales.user).exists()


def test_missing_fields_are_field_errors(db):
    response = APIClient().post(TOKEN_URL, {"username": "x"}, format="json")
    assert response.status_code == 400
    assert "password" in response.json()["error"]["fields"]


def test_inactive_staff_is_refused(world_a):
    staff_set_active(tenant=world_a.tenant, actor=world_a.admin, staff=world_a.sales, active=False)
    response = obtain(world_a.sales.user.username)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "inactive"
    assert not Token.objects.filter(user=world_a.sales.user).exists()


def test_deactivated_tenant_is_refused(world_a):
    Tenant.objects.filter(pk=world_a.tenant.pk).update(active=False)
    response = obtain(world_a.sales.user.username)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "no_membership"


def test_token_stops_working_when_staff_is_deactivated(world_a):
    key = obtain(world_a.sales.user.username).json()["token"]
    staff_set_active(tenant=world_a.tenant, actor=world_a.admin, staff=world_a.sales, active=False)
    assert token_client(key).get(ME_URL).status_code in (401, 403)


def test_token_stops_working_when_tenant_is_deactivated(world_a):
    key = obtain(world_a.sales.user.username).json()["token"]
    Tenant.objects.filter(pk=world_a.tenant.pk).update(active=False)
    assert token_client(key).get(ME_URL).status_code == 403


def test_logout_deletes_the_token(world_a):
    key = obtain(world_a.sales.user.username).json()["token"]
    client = token_client(key)
    assert client.post(LOGOUT_URL).status_code == 204
    assert not Token.objects.filter(key=key).exists()
    assert client.get(ME_URL).status_code in (401, 403)
    with world_a.context():
        assert AuditEntry.objects.filter(action="auth.token_revoke", actor=world_a.sales).exists()


def test_logout_needs_authentication(db):
    assert APIClient().post(LOGOUT_URL).status_code in (401, 403)


def test_logout_is_post_only(world_a):
    key = obtain(world_a.sales.user.username).json()["token"]
    assert token_client(key).get(LOGOUT_URL).status_code == 405
    assert Token.objects.filter(key=key).exists()


def test_me(world_a, api_client_for):
    response = api_client_for(world_a.manager).get(ME_URL)
    assert response.status_code == 200
    body = response.json()
    assert body["user"] == {"id": world_a.manager.user_id, "username": "tenant-a-manager", "email": ""}
    assert body["staff"]["id"] == world_a.manager.pk
    assert body["staff"]["team"] == {"id": world_a.team1.pk, "name": "一组"}
    assert body["tenant"]["id"] == world_a.tenant.pk and body["tenant"]["name"] == "甲家居"
    assert body["roles"] == ["manager"]
    assert body["language"] == "zh-hans"


def test_me_language_follows_settings(world_a, client_for, api_client_for):
    client_for(world_a.sales).post(reverse("settings"), {"language": "en"})
    assert api_client_for(world_a.sales).get(ME_URL).json()["language"] == "en"


def test_me_needs_authentication(db):
    assert APIClient().get(ME_URL).status_code in (401, 403)


def test_me_refuses_login_without_membership(db):
    from apps.tenancy.models import User

    user = User.objects.create_user("loner", password=PASSWORD)
    client = APIClient()
    client.force_authenticate(user)
    assert client.get(ME_URL).status_code == 403
    # and cannot get a token either
    assert obtain("loner").status_code == 403


def test_schema_documents_the_account_endpoints(world_a, client_for):
    response = client_for(world_a.sales).get(reverse("api-schema"), {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {TOKEN_URL, LOGOUT_URL, ME_URL} <= set(paths)
