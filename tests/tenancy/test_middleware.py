"""The request's membership is read before the tenant is entered; what hangs off it must
still be readable afterwards (row-level security would hide a join made too early)."""

import pytest
from django.test import RequestFactory

from apps.tenancy.middleware import TenantMiddleware

pytestmark = pytest.mark.django_db


def test_request_staff_team_is_visible(world_a):
    seen = {}

    def view(request):
        seen["team"] = request.staff.team
        seen["tenant"] = request.tenant
        from django.http import HttpResponse

        return HttpResponse("ok")

    request = RequestFactory().get("/")
    request.user = world_a.sales.user
    TenantMiddleware(view)(request)
    assert seen["team"] == world_a.team1
    assert seen["tenant"] == world_a.tenant


def test_failed_request_rolls_back(world_a):
    """A response with status >= 500 does not commit what the view wrote."""
    from django.http import HttpResponseServerError

    from apps.tenancy.models import Team

    def view(request):
        Team.objects.create(tenant=request.tenant, name="半途而废")
        return HttpResponseServerError("boom")

    request = RequestFactory().get("/")
    request.user = world_a.admin.user
    TenantMiddleware(view)(request)
    with world_a.context():
        assert not Team.objects.filter(name="半途而废").exists()
