"""Builders of the referral lifecycle tests: a referrer, a referral logged through the service,
a deal entered through apps.deals.services (so the lifecycle hooks run), a reward policy in force
from any day, and readers of what the lifecycle wrote (reward lines, points, audit rows)."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from django.db.models import Max
from django.utils import translation

from apps.core.models import AuditEntry
from apps.deals import services as deals
from apps.ownership.selectors import tenant_today
from apps.referrals import lifecycle
from apps.referrals import referrers as referrer_services
from apps.referrals.models import PointsEntry, Referral, RewardLine, RewardPolicy
from apps.referrals.reward_presets import PRESETS
from apps.referrals.rewards import parse_reward_rules
from apps.tenancy.models import Tenant

from .cards_helpers import customer_referrer

__all__ = ["customer_referrer", "D", "phone", "today", "days_ago", "make_education", "policy",
           "log", "deal", "refund", "fresh", "lines", "line_sum", "points_rows", "audits",
           "converted", "approve_and_pay", "partner", "zh", "messages"]

_phones = itertools.count(1)
_contracts = itertools.count(1)


def D(value) -> Decimal:  # noqa: N802 - reads like the Decimal it is
    return Decimal(str(value))


def phone() -> str:
    """A fresh valid mobile number for each referred person."""
    return f"1390000{next(_phones):04d}"


def today(world) -> dt.date:
    return tenant_today(world.tenant)


def days_ago(world, days: int) -> dt.date:
    return today(world) - dt.timedelta(days=days)


def make_education(world) -> None:
    """An education tenant without its own reward policy: the education preset applies."""
    Tenant.objects.filter(pk=world.tenant.pk).update(industry=Tenant.Industry.EDUCATION)
    world.tenant.industry = Tenant.Industry.EDUCATION


def policy(world, *, preset: str = "", rules: dict | None = None, effective_from=None,
           **settings) -> RewardPolicy:
    """A reward policy version in force from `effective_from` (default: 30 days ago — written
    directly, as reward_policy_create only takes today or later); `settings` are lifecycle
    settings added to the rules (hold_days=…, exclude_relatives=…)."""
    data = dict(rules if rules is not None else PRESETS[preset])
    data.update(settings)
    with world.context():
        version = (RewardPolicy.objects.aggregate(v=Max("version"))["v"] or 0) + 1
        return RewardPolicy.objects.create(
            tenant=world.tenant, version=version, name=f"政策{version}",
            effective_from=effective_from or days_ago(world, 30),
            rules=parse_reward_rules(data).as_data())


def log(world, referrer, *, actor=None, name="李四", number=None, **kw):
    """Log a referral through the service; returns the LogResult."""
    return lifecycle.referral_log(tenant=world.tenant, actor=actor or world.sales,
                                  referrer=referrer, name=name, phone=number or phone(), **kw)


def deal(world, customer, amount, *, signed_on=None, actor=None, kind="new"):
    """A deal entered through the deals service (the referral hook runs inside)."""
    return deals.deal_create(
        tenant=world.tenant, actor=actor or world.admin, customer=customer, kind=kind,
        amount=D(amount), signed_on=signed_on or days_ago(world, 10),
        contract_number=f"HT-R{next(_contracts):05d}",
        participants=[(world.sales, "consultant", "")])


def refund(world, the_deal, amount, *, on=None, actor=None):
    return deals.deal_refund(tenant=world.tenant, actor=actor or world.admin, deal=the_deal,
                             amount=D(amount), refunded_on=on or today(world), reason="退款")


def fresh(world, obj):
    with world.context():
        return type(obj).objects.get(pk=obj.pk)


def lines(world, referral=None) -> list[tuple[str, Decimal]]:
    """(kind, amount) of the reward lines (of `referral`), oldest first."""
    with world.context():
        rows = RewardLine.objects.order_by("created_at", "id")
        if referral is not None:
            rows = rows.filter(referral_id=referral.pk)
        return list(rows.values_list("kind", "amount"))


def line_sum(world, referral) -> Decimal:
    return sum((amount for _kind, amount in lines(world, referral)), Decimal("0.00"))


def points_rows(world, referrer) -> list[tuple[str, int]]:
    with world.context():
        return list(PointsEntry.objects.filter(referrer_id=referrer.pk)
                    .order_by("created_at", "id").values_list("kind", "points"))


def audits(world, target, action: str | None = None) -> list[AuditEntry]:
    with world.context():
        rows = AuditEntry.objects.filter(target_type=target._meta.label_lower,
                                         target_id=target.pk).order_by("at", "id")
        if action:
            rows = rows.filter(action=action)
        return list(rows)


def converted(world, referrer, amount="10000", *, signed_on=None, actor=None):
    """A referral of `referrer` logged and converted by a first deal: (referral, deal)."""
    referral = log(world, referrer, actor=actor).referral
    the_deal = deal(world, referral.customer, amount, signed_on=signed_on)
    with world.context():
        return Referral.objects.select_related("customer", "referrer").get(pk=referral.pk), \
            the_deal


def approve_and_pay(world, referral) -> Referral:
    lifecycle.referral_approve(tenant=world.tenant, actor=world.manager, referral=referral)
    lifecycle.referral_pay(tenant=world.tenant, actor=world.finance, referral=referral)
    return fresh(world, referral)


def partner(world, *, fee_kind="fixed", fee_value="800", days=3, number="13600136000"):
    return referrer_services.referrer_register_partner(
        tenant=world.tenant, actor=world.manager, name="合作机构", phone=number,
        fee_kind=fee_kind, fee_value=fee_value, payment_due_working_days=days)


def zh(msgid: str, **params) -> str:
    """A service message as a zh-hans user reads it (the catalog's text, or the msgid while the
    msgid has no translation yet)."""
    with translation.override("zh-hans"):
        text = translation.gettext(msgid)
    return text % params if params else text


def messages(exc) -> dict:
    """A ValidationError's messages by field."""
    return exc.message_dict
