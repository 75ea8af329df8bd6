"""Signing in and out, password change, and who may sign in at all."""

import pytest
from django.test import Client
from django.urls import reverse

from apps.core.models import AuditEntry
from apps.tenancy.models import Tenant
from apps.tenancy.services import staff_set_active

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests-123"


def post_login(client, username, password=PASSWORD, **extra):
    return client.post(reverse("login"), {"username": username, "password": password, **extra})


def test_login_page_is_chinese_by_default_and_phone_friendly(db):
    response = Client().get(reverse("login"))
    assert response.status_code == 200
    html = response.content.decode()
    assert response["Content-Language"] == "zh-hans"
    assert '<html lang="zh-hans">' in html
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in html
    assert "登录" in html  # "Log in" from Django's zh-hans catalogue
    assert 'name="username"' in html and 'name="password"' in html


def test_login_success_redirects_home_and_enters_tenant(world_a):
    client = Client()
    response = post_login(client, world_a.sales.user.username)
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    home = client.get(reverse("home"))
    assert home.status_code == 200
    assert home.context["current_tenant"] == world_a.tenant
    assert home.context["current_staff"] == world_a.sales


def test_login_honours_next(world_a):
    client = Client()
    response = post_login(client, world_a.admin.user.username, next=reverse("tenancy:staff_list"))
    assert response["Location"] == reverse("tenancy:staff_list")


def test_login_wrong_password_is_refused_and_keeps_username(world_a):
    client = Client()
    response = post_login(client, world_a.sales.user.username, "wrong-password")
    assert response.status_code == 200
    form = response.context["form"]
    assert [e.code for e in form.non_field_errors().as_data()] == ["invalid_login"]
    assert f'value="{world_a.sales.user.username}"' in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_login_unknown_user_gets_the_same_message_as_a_wrong_password(world_a):
    unknown = post_login(Client(), "nobody-here", "whatever-123")
    wrong = post_login(Client(), world_a.sales.user.username, "whatever-123")
    assert unknown.context["form"].non_field_errors() == wrong.context["form"].non_field_errors()


def test_deactivated_staff_cannot_log_in_and_is_told_why(world_a):
    staff_set_active(tenant=world_a.tenant, actor=world_a.admin, staff=world_a.sales, active=False,
                     reason="left the company")
    client = Client()
    response = post_login(client, world_a.sales.user.username)
    assert response.status_code == 200
    assert [e.code for e in response.context["form"].non_field_errors().as_data()] == ["inactive"]
    assert "_auth_user_id" not in client.session


def test_deactivated_staff_with_wrong_password_gets_the_generic_message(world_a):
    staff_set_active(tenant=world_a.tenant, actor=world_a.admin, staff=world_a.sales, active=False)
    response = post_login(Client(), world_a.sales.user.username, "wrong-password")
    assert [e.code for e in response.context["form"].non_field_errors().as_data()] == ["invalid_login"]


def test_member_of_deactivated_tenant_cannot_log_in(world_a):
    Tenant.objects.filter(pk=world_a.tenant.pk).update(active=False)
    client = Client()
    response = post_login(client, world_a.manager.user.username)
    assert response.status_code == 200
    assert [e.code for e in response.context["form"].non_field_errors().as_data()] == ["no_membership"]
    assert "_auth_user_id" not in client.session


def test_session_of_deactivated_staff_stops_working(world_a, client_for):
    client = client_for(world_a.sales)
    assert client.get(reverse("home")).status_code == 200
    staff_set_active(tenant=world_a.tenant, actor=world_a.admin, staff=world_a.sales, active=False)
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_anonymous_is_sent_to_login(db):
    response = Client().get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next=/"


def test_logout_is_post_only(world_a, client_for):
    client = client_for(world_a.sales)
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert client.get(reverse("home")).status_code == 302  # signed out


def test_logout_needs_csrf_token(world_a):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world_a.sales.user)
    assert client.post(reverse("logout")).status_code == 403
    assert client.get(reverse("home")).status_code == 200  # still signed in


def test_password_change(world_a, client_for):
    client = client_for(world_a.sales)
    assert client.get(reverse("password_change")).status_code == 200
    response = client.post(reverse("password_change"), {
        "old_password": PASSWORD, "new_password1": "brand-new-Pass-42",
        "new_password2": "brand-new-Pass-42"})
    assert response.status_code == 302
    assert response["Location"] == reverse("password_change_done")
    assert client.get(reverse("password_change_done")).status_code == 200
    assert client.get(reverse("home")).status_code == 200  # still signed in on this device
    assert post_login(Client(), world_a.sales.user.username, PASSWORD).status_code == 200  # refused
    assert post_login(Client(), world_a.sales.user.username, "brand-new-Pass-42").status_code == 302
    with world_a.context():
        entry = AuditEntry.objects.get(action="user.password_change")
    assert entry.actor == world_a.sales
    assert "brand-new" not in str(entry.changes)


def test_password_change_wrong_old_password(world_a, client_for):
    client = client_for(world_a.sales)
    response = client.post(reverse("password_change"), {
        "old_password": "not-it", "new_password1": "brand-new-Pass-42",
        "new_password2": "brand-new-Pass-42"})
    assert response.status_code == 200
    assert "old_password" in response.context["form"].errors
    assert 'class="form-control is-invalid"' in response.content.decode()


def test_password_change_needs_login(db):
    response = Client().get(reverse("password_change"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
