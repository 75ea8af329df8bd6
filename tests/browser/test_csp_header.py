"""The content security policy on the responses themselves (fast, no browser)."""

import pytest

pytestmark = pytest.mark.django_db


def directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in header.split(";")
                                                if part.strip())}


def test_pages_carry_a_policy_without_inline_script(world_a, client_for, client):
    for response in (client.get("/login/"), client_for(world_a.sales).get("/ownership/register/")):
        assert response.status_code == 200
        policy = directives(response)
        assert policy["script-src"] == ["'self'"]
        assert policy["style-src"] == ["'self'"]
        assert policy["default-src"] == ["'self'"] and policy["frame-ancestors"] == ["'none'"]
        assert policy["form-action"] == ["'self'"] and policy["base-uri"] == ["'self'"]
        html = response.content.decode()
        assert "<script>" not in html and " style=" not in html and "onclick=" not in html


def test_only_the_redoc_viewer_relaxes_it(world_a, client_for):
    client = client_for(world_a.sales)
    assert "'unsafe-inline'" in directives(client.get("/api/redoc/"))["script-src"]
    swagger = client.get("/api/docs/")
    assert swagger.status_code == 200 and "<script>" not in swagger.content.decode()
    assert "'unsafe-inline'" not in directives(swagger)["script-src"]
