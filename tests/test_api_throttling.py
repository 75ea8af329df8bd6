"""DRF throttling: a caller over the rate gets 429 in the API's error format."""

import pytest
from django.core.cache import cache
from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle

pytestmark = pytest.mark.django_db


def test_user_over_the_rate_gets_429(world_a, api_client_for, monkeypatch):
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES",
                        {**api_settings.DEFAULT_THROTTLE_RATES, "user": "3/min"})
    cache.clear()
    client = api_client_for(world_a.sales)
    statuses = [client.get("/api/v1/customers/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    body = client.get("/api/v1/customers/").json()
    assert body["error"]["status"] == 429 and body["error"]["code"] == "throttled"
    # Another user has their own allowance.
    assert api_client_for(world_a.sales2).get("/api/v1/customers/").status_code == 200
