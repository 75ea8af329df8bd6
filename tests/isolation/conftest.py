"""Fixtures of the isolation suite.

Building two tenants with a member of every role and their customers takes most of a test's
time, and the matrix has hundreds of cases; so the data is built once per module inside an
outer transaction (rolled back at the end of the module), and every test runs in a savepoint
inside it (pytest-django's `db`), exactly like Django's TestCase.setUpTestData. `world_a` and
`world_b` are overridden here to be those module-level worlds."""

import pytest
from django.db import transaction
from django.test import override_settings

from apps.core.models import AuditEntry
from apps.tenancy.context import tenant_context
from tests.conftest import TenantWorld

from .data import TenantData, populate, snapshot

# An id no row has (sequences in a test database never get near it).
MISSING_ID = 2_000_000_000


class Isolation:
    """Tenant A's objects (the targets), tenant B's (the attacker's own), and A's snapshot."""

    def __init__(self, world_a, world_b=None):
        """Without `world_b`: tenant A alone (the same-tenant role matrix needs no B)."""
        self.world_a, self.world_b = world_a, world_b
        self.a: TenantData = populate(world_a)
        self.b: TenantData | None = populate(world_b) if world_b is not None else None
        self.ids = self._ids(world_a, self.a)
        self.b_ids = self._ids(world_b, self.b) if world_b is not None else {}
        self.secrets = self.a.secrets
        self.before = snapshot(world_a)

    @staticmethod
    def _ids(world, data: TenantData) -> dict[str, int]:
        with tenant_context(world.tenant):
            audit = AuditEntry.objects.order_by("pk").first()
            change = data.customer.ownership_changes.order_by("pk").first()
        return {"customer": data.customer.pk, "relation": data.relation.pk,
                "team": world.team1.pk, "staff": world.sales.pk, "user": world.sales.user_id,
                "team_count": data.team_count.pk, "audit": audit.pk, "tenant": world.tenant.pk,
                "policy": data.policy.pk, "share": data.share.pk, "visit": data.visit.pk,
                "dispute": data.dispute.pk, "dispute_share": data.dispute_share.pk,
                "evidence": data.evidence.pk, "sign_in": data.sign_in.pk,
                "notification": data.notification.pk,
                "ownership_change": change.pk,
                "deal_role": data.deal_role.pk, "rule_set": data.rule_set.pk,
                "contract": data.contract.pk, "deal": data.deal.pk,
                "participant": data.participant.pk, "refund": data.refund.pk,
                "credit": data.credit.pk, "renewal_policy": data.renewal_policy.pk,
                "reminder": data.reminder.pk,
                "referrer": data.referrer.pk, "card": data.card.pk, "referral": data.referral.pk,
                "reward_policy": data.reward_policy.pk, "points_item": data.points_item.pk,
                "redemption": data.redemption.pk, "points_entry": data.points_entry.pk,
                "reward_line": data.reward_line.pk, "honour_award": data.honour_award.pk,
                "commission_rules": data.commission_rules.pk,
                "commission_settings": data.commission_settings.pk,
                "settlement": data.settlement.pk, "team_approval": data.team_approval.pk,
                "commission_line": data.commission_line.pk, "penalty": data.penalty.pk,
                "tier_scheme": data.tier_scheme.pk, "customer_tier": data.customer_tier.pk,
                "tier_change": data.tier_change.pk, "vip_card": data.vip_card.pk,
                "voucher": data.voucher.pk, "gift": data.gift.pk,
                "followup_plan": data.followup_plan.pk, "followup": data.followup.pk,
                "notification_preference": data.notification_preference.pk,
                "export_job": data.export_job.pk}

    def values(self, route, *, ids: dict[str, int] | None = None, missing: bool = False) -> dict:
        ids = ids or self.ids
        out = {}
        for param, kind in zip(route.params, route.object_kinds, strict=True):
            if kind is None or kind not in ids:
                pytest.fail(f"{route.label}: cannot fill URL kwarg {param!r}; teach "
                            "tests/isolation/routes.py (TOKEN_KINDS / MODEL_KINDS) what it names")
            out[param] = MISSING_ID if missing else ids[kind]
        return out

    def assert_a_unchanged(self, context: str = "") -> None:
        after = snapshot(self.world_a)
        changed = {k for k in self.before if self.before[k] != after.get(k)}
        assert not changed, f"{context}: tenant A's data changed in {sorted(changed)}"


@pytest.fixture(scope="module")
def _isolation_media(tmp_path_factory):
    """One media directory for the module: the evidence file is made once, with the data."""
    with override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("isolation-media")):
        yield


@pytest.fixture(autouse=True)
def _media_root(_isolation_media):
    """Replaces the per-test media directory of tests/conftest.py for this module."""


def built_once(django_db_blocker, build):
    """Yields build()'s result, made inside an outer transaction rolled back afterwards."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            data = build()
        except BaseException:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            raise
    yield data
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        outer.__exit__(None, None, None)


@pytest.fixture(scope="module")
def _isolation_data(django_db_setup, django_db_blocker, _isolation_media):
    yield from built_once(django_db_blocker, lambda: Isolation(
        TenantWorld("tenant-a", "甲家居"), TenantWorld("tenant-b", "乙教育")))


@pytest.fixture
def iso(db, _isolation_data) -> Isolation:
    return _isolation_data


@pytest.fixture
def world_a(db, _isolation_data):
    return _isolation_data.world_a


@pytest.fixture
def world_b(db, _isolation_data):
    return _isolation_data.world_b
