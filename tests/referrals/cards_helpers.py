"""Shared builders of the referrer/card/public tests."""

from __future__ import annotations

import datetime as dt

from apps.core.identity import make_resident_id
from apps.customers.services import customer_create
from apps.referrals import referrers as svc


def resident_id(seq: int = 11) -> str:
    return make_resident_id("110105", dt.date(1980, 5, 17), seq)


def make_customer(world, *, name="王五", phone="13800138001", owner=None, id_number=""):
    return customer_create(tenant=world.tenant, actor=None, name=name, phone=phone,
                           owner=owner or world.sales, id_number=id_number)


def customer_referrer(world, *, phone="13800138001", name="王五", seq=11, owner=None):
    customer = make_customer(world, name=name, phone=phone, owner=owner)
    return svc.referrer_register_customer(tenant=world.tenant, actor=world.manager,
                                          customer=customer, id_number=resident_id(seq))


def card_for(world, referrer):
    return svc.card_issue(tenant=world.tenant, actor=world.manager, referrer=referrer)
