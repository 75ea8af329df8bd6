"""The layout: navigation by role, user menu, CSRF for htmx, vendored assets, language, error pages."""

import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse
from django.views.defaults import server_error

from apps.core.models import AuditEntry
from apps.tenancy.models import User

pytestmark = pytest.mark.django_db


def page(client, url="/"):
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_admin_sees_admin_links(world_a, client_for):
    html = page(client_for(world_a.admin))
    for url in (reverse("home"), reverse("tenancy:team_list"), reverse("tenancy:staff_list"),
                reverse("admin:index"), reverse("api-docs"), reverse("settings"),
                reverse("password_change")):
        assert f'href="{url}"' in html, url
    assert world_a.tenant.name in html


def test_sales_does_not_see_admin_links(world_a, client_for):
    html = page(client_for(world_a.sales))
    assert f'href="{reverse("tenancy:staff_list")}"' not in html
    assert f'href="{reverse("tenancy:team_list")}"' not in html
    assert f'href="{reverse("admin:index")}"' not in html
    assert f'href="{reverse("api-docs")}"' in html
    assert f'href="{reverse("customers:list")}"' in html
    assert world_a.sales.name in html


def test_logout_is_a_post_form_with_csrf(world_a, client_for):
    html = page(client_for(world_a.sales))
    pattern = rf'<form method="post" action="{reverse("logout")}"[^>]*>(.*?)</form>'
    form = re.search(pattern, html, re.S)
    assert form is not None
    assert 'name="csrfmiddlewaretoken"' in form.group(1)


def test_htmx_requests_carry_the_csrf_token(world_a, client_for):
    client = client_for(world_a.admin)
    html = page(client)
    match = re.search(r"""<body[^>]*hx-headers='\{"X-CSRFToken": "([^"]+)"\}'""", html)
    assert match, "body must set the CSRF header for htmx"
    token = match.group(1)
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.cookies = client.cookies
    # The header value from the page is accepted by CsrfViewMiddleware.
    response = csrf_client.post(reverse("settings"), {"language": "en"}, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 302


def test_assets_are_vendored_not_from_a_cdn(world_a, client_for):
    html = page(client_for(world_a.admin))
    srcs = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', html)
    assert srcs, "the layout loads CSS and JS"
    for src in srcs:
        assert src.startswith("/static/"), src
        assert finders.find(src.removeprefix("/static/")), src
    assert "/static/vendor/htmx/htmx.min.js" in srcs
    assert "/static/vendor/bootstrap/js/bootstrap.bundle.min.js" in srcs
    assert "/static/vendor/bootstrap/css/bootstrap.min.css" in srcs
    assert finders.find("vendor/chartjs/chart.umd.min.js")


def test_messages_are_rendered(world_a, client_for):
    client = client_for(world_a.sales)
    response = client.post(reverse("settings"), {"language": "zh-hans"}, follow=True)
    assert 'class="alert alert-success' in response.content.decode()


# --------------------------------------------------------------------------- my settings

def test_settings_page_offers_both_languages(world_a, client_for):
    html = page(client_for(world_a.sales), reverse("settings"))
    assert "简体中文" in html and "English" in html
    assert re.search(r'<input type="radio" name="language" value="zh-hans"[^>]*checked', html)


def test_switching_to_english_changes_the_page_language(world_a, client_for):
    client = client_for(world_a.sales)
    before = page(client)
    assert '<html lang="zh-hans">' in before
    assert "修改密码" in before  # "Change password", translated by Django's catalogue
    response = client.post(reverse("settings"), {"language": "en"})
    assert response.status_code == 302
    after = page(client)
    assert '<html lang="en">' in after
    assert "Change password" in after and "修改密码" not in after
    user = User.objects.get(pk=world_a.sales.user_id)
    assert user.language == "en"
    with world_a.context():
        entry = AuditEntry.objects.get(action="user.language")
    assert entry.changes == {"language": ["", "en"]}
    # Back to Chinese.
    client.post(reverse("settings"), {"language": "zh-hans"})
    assert '<html lang="zh-hans">' in page(client)


def test_language_choice_is_per_user(world_a, client_for):
    client_for(world_a.sales).post(reverse("settings"), {"language": "en"})
    assert '<html lang="zh-hans">' in page(client_for(world_a.sales2))


def test_settings_refuses_unknown_language(world_a, client_for):
    client = client_for(world_a.sales)
    response = client.post(reverse("settings"), {"language": "fr"})
    assert response.status_code == 200
    assert "language" in response.context["form"].errors
    assert User.objects.get(pk=world_a.sales.user_id).language == ""


# --------------------------------------------------------------------------- error pages

def test_404_page_uses_the_layout(world_a, client_for):
    response = client_for(world_a.sales).get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "404" in html and "/static/vendor/bootstrap/css/bootstrap.min.css" in html
    assert world_a.sales.name in html  # the navigation is there


def test_403_page_uses_the_layout(world_a, client_for):
    response = client_for(world_a.sales).get(reverse("tenancy:staff_list"))
    assert response.status_code == 403
    html = response.content.decode()
    assert "403" in html and "/static/vendor/bootstrap/css/bootstrap.min.css" in html


def test_403_for_a_login_without_membership_offers_logout(world_a):
    user = User.objects.create_user("loner", password="pw-for-tests-123")
    client = Client()
    client.force_login(user)
    response = client.get(reverse("home"))
    assert response.status_code == 403
    assert f'action="{reverse("logout")}"' in response.content.decode()


def test_500_page_renders_without_request_context(db, django_assert_num_queries):
    request = RequestFactory().get("/")
    with django_assert_num_queries(0):
        response = server_error(request)
    assert response.status_code == 500
    html = response.content.decode()
    assert "500" in html and "/static/vendor/bootstrap/css/bootstrap.min.css" in html


@override_settings(DEBUG=False)
def test_unhandled_error_gives_the_500_page(world_a, monkeypatch):
    from apps.tenancy import views

    def boom(self, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(views.HomeView, "get_context_data", boom)
    client = Client(raise_request_exception=False)
    client.force_login(world_a.sales.user)
    response = client.get(reverse("home"))
    assert response.status_code == 500
    assert "500" in response.content.decode()


def test_settings_page_shows_my_team(world_a, client_for):
    html = page(client_for(world_a.sales), reverse("settings"))
    assert "一组" in html and world_a.tenant.name in html
