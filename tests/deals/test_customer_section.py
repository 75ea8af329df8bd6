"""The customer page lists the customer's deals and contracts to those who may see them."""

import datetime as dt

import pytest
from django.urls import reverse

from .conftest import make_deal

pytestmark = pytest.mark.django_db


def test_customer_page_shows_deals_and_contracts(edu, client_for):
    e = edu
    deal = make_deal(e, term_start=e.today, term_end=e.today + dt.timedelta(days=89))
    html = client_for(e.world.admin).get(reverse("customers:detail", args=[e.customer.pk]))
    body = html.content.decode()
    assert "成交与合同" in body
    assert reverse("deals:detail", args=[deal.pk]) in body
    assert reverse("renewals:contract_detail", args=[deal.contract_id]) in body
    assert f'{reverse("deals:create")}?customer={e.customer.pk}' in body


def test_customer_service_sees_no_deals_section(edu, client_for):
    e = edu
    make_deal(e)
    body = client_for(e.world.cs).get(
        reverse("customers:detail", args=[e.customer.pk])).content.decode()
    assert "成交与合同" not in body
