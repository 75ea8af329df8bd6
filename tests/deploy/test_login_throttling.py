"""Login throttling: django-axes locks a username on an address after repeated wrong passwords
(login page, admin login and API token alike); the token endpoint has its own strict rate."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from rest_framework.settings import api_settings
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from apps.tenancy.lockout import locked_out_message

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests-123"
TOKEN_URL = "/api/v1/auth/token/"


def post_login(client, username, password=PASSWORD, **extra):
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


def fail_until_locked(client, username, settings, **extra):
    """The limit's wrong passwords; the last one is answered with the lock-out."""
    responses = [post_login(client, username, "wrong-password", **extra)
                 for _ in range(settings.AXES_FAILURE_LIMIT)]
    assert [r.status_code for r in responses[:-1]] == [200] * (settings.AXES_FAILURE_LIMIT - 1)
    return responses[-1]


def locked_attempts(username):
    with connection.cursor() as cur:
        cur.execute("SELECT ip_address, failures_since_start FROM axes_accessattempt "
                    "WHERE username = %s", [username])
        return cur.fetchall()


def test_session_login_is_locked_after_the_limit_with_a_chinese_message(world_a, settings):
    username = world_a.sales.user.username
    client = Client()
    locked = fail_until_locked(client, username, settings)
    assert locked.status_code == 429
    with translation.override("zh-hans"):
        message = locked_out_message()
    assert escape(message) in locked.content.decode()
    assert "15" in message
    # The right password does not get in while locked, and the lock-out is recorded.
    again = post_login(client, username)
    assert again.status_code == 429 and "_auth_user_id" not in client.session
    assert locked_attempts(username) == [("127.0.0.1", settings.AXES_FAILURE_LIMIT + 1)]


def test_failures_below_the_limit_do_not_lock_and_a_success_resets_them(world_a, settings):
    username = world_a.sales.user.username
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert post_login(Client(), username, "wrong-password").status_code == 200
    assert post_login(Client(), username).status_code == 302
    assert locked_attempts(username) == []
    # The count starts again from zero.
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert post_login(Client(), username, "wrong-password").status_code == 200
    assert post_login(Client(), username).status_code == 302


def test_lock_is_per_username_and_address(world_a, settings):
    username = world_a.sales.user.username
    fail_until_locked(Client(), username, settings)
    # Another person on the same address, and the same person from another address, sign in.
    assert post_login(Client(), world_a.sales2.user.username).status_code == 302
    assert post_login(Client(), username, REMOTE_ADDR="10.1.2.3").status_code == 302


def test_lock_ends_after_the_cool_off(world_a, settings):
    username = world_a.sales.user.username
    fail_until_locked(Client(), username, settings)
    assert post_login(Client(), username).status_code == 429
    with connection.cursor() as cur:  # as if the cool-off had passed
        cur.execute("UPDATE axes_accessattempt SET attempt_time = attempt_time - %s",
                    [settings.AXES_COOLOFF_TIME])
    assert post_login(Client(), username).status_code == 302


def test_admin_command_unlocks(world_a, settings):
    username = world_a.sales.user.username
    fail_until_locked(Client(), username, settings)
    call_command("axes_reset_username", username)
    assert locked_attempts(username) == []
    assert post_login(Client(), username).status_code == 302


def test_admin_login_is_locked_too(world_a, settings):
    username = world_a.admin.user.username
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = Client().post("/admin/login/", {"username": username,
                                                   "password": "wrong-password"})
    assert response.status_code == 429
    assert Client().post("/admin/login/", {"username": username,
                                           "password": PASSWORD}).status_code == 429


def test_token_endpoint_shares_the_lock_out(world_a, settings):
    username = world_a.sales.user.username
    fail_until_locked(Client(), username, settings)
    response = APIClient().post(TOKEN_URL, {"username": username, "password": PASSWORD},
                                format="json")
    assert response.status_code == 429
    error = response.json()["error"]
    assert error["code"] == "locked_out" and error["message"]
    assert "token" not in response.json()


def test_token_endpoint_answers_429_after_its_rate(world_a, monkeypatch):
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES",
                        {**api_settings.DEFAULT_THROTTLE_RATES, "auth_token": "3/min"})
    client = APIClient()
    statuses = [client.post(TOKEN_URL, {"username": f"nobody-{i}", "password": "x"},
                            format="json").status_code for i in range(3)]
    assert statuses == [400, 400, 400]
    # Over the rate even the right password is refused, in the API's error format.
    over = client.post(TOKEN_URL, {"username": world_a.sales.user.username,
                                   "password": PASSWORD}, format="json")
    assert over.status_code == 429 and over.json()["error"]["code"] == "throttled"
    # Another address has its own allowance.
    other = APIClient(REMOTE_ADDR="10.9.8.7").post(
        TOKEN_URL, {"username": world_a.sales.user.username, "password": PASSWORD},
        format="json")
    assert other.status_code == 200 and other.json()["token"]


def test_token_rate_is_strict_by_default(settings):
    rate = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["auth_token"]
    num, period = ScopedRateThrottle().parse_rate(rate)
    assert num / period <= 1 / 6  # at most 10 a minute from one address


def test_forwarded_for_cannot_escape_the_token_rate(world_a, monkeypatch):
    """Without a proxy, a client-set X-Forwarded-For is not its address."""
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES",
                        {**api_settings.DEFAULT_THROTTLE_RATES, "auth_token": "2/min"})
    statuses = [APIClient(HTTP_X_FORWARDED_FOR=f"203.0.113.{i}").post(
        TOKEN_URL, {"username": "nobody", "password": "x"}, format="json").status_code
        for i in range(3)]
    assert statuses == [400, 400, 429]
