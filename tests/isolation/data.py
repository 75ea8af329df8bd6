"""Data builders shared by the isolation tests (tests/isolation, tests/tenancy/test_rls.py).

`populate(world)` gives a TenantWorld customers, a relation, a team count and audit entries,
all carrying strings that are unique to that tenant (`secrets`), so a response body or a raw
query can be searched for any trace of the other tenant.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.apps import apps
from django.db import connection

from apps.core.models import JobRun
from apps.customers.models import Customer, CustomerRelation, TeamCustomerCount
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Staff, Tenant, TenantModel, User

# Per tenant slug: a distinctive name prefix, phone prefix and two valid resident ID numbers.
_PROFILES = {
    "tenant-a": ("Qzx甲客户", "1391234", ["110105194912310046", "110105194912310038"]),
    "tenant-b": ("Wvy乙客户", "1371234", ["440304198508073236", "440304198508073252"]),
}


@dataclass
class TenantData:
    world: object
    customers: list = field(default_factory=list)
    relation: CustomerRelation | None = None
    team_count: TeamCustomerCount | None = None
    # Issue 3 (set by _populate_ownership).
    policy: object = None
    share: object = None
    visit: object = None
    dispute: object = None
    dispute_share: object = None
    evidence: object = None
    sign_in: object = None
    notification: object = None
    notification_preference: object = None
    # Issue 4 (set by _populate_deals).
    deal_role: object = None
    rule_set: object = None
    contract: object = None
    deal: object = None
    participant: object = None
    refund: object = None
    credit: object = None
    renewal_policy: object = None
    reminder: object = None
    # Issue 5 (set by _populate_referrals).
    referrer: object = None
    card: object = None
    referral: object = None
    reward_policy: object = None
    points_item: object = None
    redemption: object = None
    points_entry: object = None
    # Issue 8 (set by _populate_followups).
    followup_plan: object = None
    followup_done: object = None
    followup: object = None
    # Issue 9 (set by _populate_exports).
    export_job: object = None

    @property
    def customer(self) -> Customer:
        return self.customers[0]

    @property
    def secrets(self) -> list[str]:
        """Strings that must never appear in a response or query result seen by another tenant."""
        out = [self.world.tenant.name]
        for c in self.customers:
            out += [c.name, c.phone, c.notes] + ([c.id_number] if c.id_number else [])
        with tenant_context(self.world.tenant):
            out += [s.name for s in Staff.unscoped_objects.filter(tenant_id=self.world.tenant.pk)]
        slug = self.world.tenant.slug
        out += [f"SECRET-{kind}-{slug}" for kind in ("POLICY", "VISIT", "CLAIM", "NOTICE",
                                                     "RULES", "C", "D", "DEAL", "REFUND",
                                                     "REFERRED", "REFERRAL", "REWARDS", "ITEM",
                                                     "TIERS", "REVIEW", "TIER-CHANGE", "VIP",
                                                     "VOUCHER", "GIFT", "PLAN", "RESULT",
                                                     "FOLLOWUP", "EXPORT")]
        out.append(f"secret-{slug}.png")
        return out


def _create_customer(world, actor: Staff, **fields) -> Customer:
    """Through the service once it exists (it validates and audits), else the scoped manager."""
    try:
        from apps.customers.services import customer_create
    except ImportError:
        customer_create = None
    if customer_create is not None:
        return customer_create(tenant=world.tenant, actor=actor, **fields)
    with tenant_context(world.tenant):
        return Customer.objects.create(tenant=world.tenant, created_by=actor, **fields)


def _create_relation(world, customer: Customer, related: Customer) -> CustomerRelation:
    try:
        from apps.customers.services import relation_add
    except ImportError:
        relation_add = None
    if relation_add is not None:
        return relation_add(tenant=world.tenant, actor=None, customer=customer, related=related,
                            kind=CustomerRelation.Kind.SPOUSE)
    with tenant_context(world.tenant):
        return CustomerRelation.objects.create(tenant=world.tenant, customer=customer,
                                               related=related, kind=CustomerRelation.Kind.SPOUSE)


def populate(world) -> TenantData:
    prefix, phone, id_numbers = _PROFILES[world.tenant.slug]
    data = TenantData(world)
    owners = [(world.sales, world.team1), (world.sales2, world.team1),
              (world.sales_other_team, world.team2)]
    for i, (owner, team) in enumerate(owners, start=1):
        data.customers.append(_create_customer(
            world, owner, name=f"{prefix}{i}", phone=f"{phone}{i:04d}",
            id_number=id_numbers[i - 1] if i <= len(id_numbers) else "",
            notes=f"SECRET-NOTE-{world.tenant.slug}-{i}", owner=owner, team=team))
    data.relation = _create_relation(world, data.customers[0], data.customers[1])
    with tenant_context(world.tenant):
        data.team_count = TeamCustomerCount.objects.create(
            tenant=world.tenant, team=world.team1, day=datetime.date(2026, 1, 1), customers=2)
        # A periodic job's claim (apps.core.jobs): no page shows it, the isolation holds anyway.
        JobRun.objects.create(tenant=world.tenant, task="customers.count_team_customers",
                              period="2026-01-01")
    _populate_ownership(world, data)
    _populate_deals(world, data)
    _populate_referrals(world, data)
    _populate_commissions(world, data)
    _populate_vip(world, data)
    _populate_followups(world, data)
    _populate_exports(world, data)
    return data


def _populate_exports(world, data: TenantData) -> None:
    """A background export of the salesperson's (issue 9), queued."""
    from apps.exports.models import ExportJob

    slug = world.tenant.slug
    with tenant_context(world.tenant):
        data.export_job = ExportJob.objects.create(
            tenant=world.tenant, staff=world.sales, kind=ExportJob.Kind.CUSTOMERS,
            query="source=referral", rows_total=3, download_name=f"SECRET-EXPORT-{slug}.xlsx",
            ascii_name=f"customers-{slug}.xlsx")


def _populate_commissions(world, data: TenantData) -> None:
    """One row of every commissions model (issue 6), made directly."""
    from apps.commissions.models import (
        CommissionLine,
        CommissionRuleSet,
        CommissionSettings,
        PenaltyEvent,
        Settlement,
        TeamApproval,
    )

    tenant, slug = world.tenant, world.tenant.slug
    with tenant_context(tenant):
        data.commission_rules = CommissionRuleSet.objects.create(
            tenant=tenant, version=1, effective_from=datetime.date(2026, 1, 1),
            name=f"SECRET-COMMISSION-RULES-{slug}", rules={"rules": []})
        data.commission_settings = CommissionSettings.objects.create(tenant=tenant)
        data.settlement = Settlement.objects.create(tenant=tenant,
                                                    month=datetime.date(2026, 1, 1))
        data.team_approval = TeamApproval.objects.create(
            tenant=tenant, settlement=data.settlement, team=world.team1,
            approved_by=world.manager, note=f"SECRET-APPROVAL-{slug}")
        data.commission_line = CommissionLine.objects.create(
            tenant=tenant, settlement=data.settlement, staff=world.sales, team=world.team1,
            kind="rate", result=123, deal=data.deal, ref=f"deal:{data.deal.pk}",
            explanation=f"SECRET-COMMISSION-LINE-{slug}")
        data.penalty = PenaltyEvent.objects.create(
            tenant=tenant, staff=world.sales, code="missed_follow_up",
            occurred_on=datetime.date(2026, 1, 5), note=f"SECRET-PENALTY-{slug}")


def _populate_vip(world, data: TenantData) -> None:
    """One row of every VIP model (issue 7), made directly."""
    from django.utils import timezone

    from apps.vip.models import (
        CustomerTier,
        GiftGiven,
        TierChange,
        TierScheme,
        VipCard,
        VoucherUse,
    )
    from apps.vip.tiers import PRESETS

    tenant, customer, slug = world.tenant, data.customers[0], world.tenant.slug
    day = datetime.date(2026, 1, 1)
    with tenant_context(tenant):
        data.tier_scheme = TierScheme.objects.create(
            tenant=tenant, version=1, effective_from=day, name=f"SECRET-TIERS-{slug}",
            rules=PRESETS["default"])
        data.customer_tier = CustomerTier.objects.create(
            tenant=tenant, customer=customer, tier="gold", tier_order=2, computed_order=2,
            contract_total=60000, since=timezone.now(), review=True,
            review_reason=f"SECRET-REVIEW-{slug}")
        data.tier_change = TierChange.objects.create(
            tenant=tenant, customer=customer, team=world.team1, kind=TierChange.Kind.UPGRADE,
            from_tier="silver", to_tier="gold", reason=f"SECRET-TIER-CHANGE-{slug}")
        data.vip_card = VipCard.objects.create(
            tenant=tenant, number=f"SECRET-VIP-{slug}"[:30], customer=customer, tier="gold",
            kind=VipCard.Kind.FIRST, team=world.team1, issued_on=day, issued_by=world.admin)
        data.voucher = VoucherUse.objects.create(
            tenant=tenant, customer=customer, deal=data.deal, amount=100, tier="gold",
            period_start=day, note=f"SECRET-VOUCHER-{slug}")
        data.gift = GiftGiven.objects.create(
            tenant=tenant, customer=customer, tier="gold", referral=data.referral,
            description=f"SECRET-GIFT-{slug}", given_on=day)


def _populate_followups(world, data: TenantData) -> None:
    """One row of every follow-ups model (issue 8), made directly: an open task of the
    salesperson (with a parent done task) and a plan version."""
    from django.utils import timezone

    from apps.followups.models import FollowUpPlan, FollowUpTask
    from apps.followups.plans import PRESETS

    tenant, customer, slug = world.tenant, data.customers[0], world.tenant.slug
    now = timezone.now()
    with tenant_context(tenant):
        data.followup_plan = FollowUpPlan.objects.create(
            tenant=tenant, version=1, effective_from=datetime.date(2026, 1, 1),
            name=f"SECRET-PLAN-{slug}", rules=PRESETS["default"])
        data.followup_done = FollowUpTask.objects.create(
            tenant=tenant, customer=customer, assignee=world.sales, team=world.team1,
            channel="phone", purpose="after_sale", due_at=now - datetime.timedelta(days=2),
            status="done", result="reached", satisfaction=2, completed_at=now,
            completed_by=world.sales, result_notes=f"SECRET-RESULT-{slug}")
        data.followup = FollowUpTask.objects.create(
            tenant=tenant, customer=customer, assignee=world.sales, team=world.team1,
            channel="phone", purpose="complaint", due_at=now + datetime.timedelta(days=1),
            parent=data.followup_done, title=f"SECRET-FOLLOWUP-{slug}")


def _populate_referrals(world, data: TenantData) -> None:
    """One row of every referrals model (issue 5), made directly."""
    from apps.referrals.models import (
        HonourAward,
        PointsEntry,
        PointsItem,
        PointsRedemption,
        Referral,
        ReferralCard,
        Referrer,
        RewardLine,
        RewardPolicy,
    )

    tenant, slug = world.tenant, world.tenant.slug
    with tenant_context(tenant):
        data.referrer = Referrer.objects.create(tenant=tenant, kind=Referrer.Kind.CUSTOMER,
                                                customer=data.customers[1])
        data.card = ReferralCard.objects.create(tenant=tenant, referrer=data.referrer,
                                                code=f"SC{slug[-1].upper()}0001")
        data.referral = Referral.objects.create(
            tenant=tenant, referrer=data.referrer, card=data.card, channel=Referral.Channel.LINK,
            name=f"SECRET-REFERRED-{slug}", phone=data.customers[2].phone,
            note=f"SECRET-REFERRAL-{slug}")
        data.reward_policy = RewardPolicy.objects.create(
            tenant=tenant, version=1, effective_from=datetime.date(2026, 1, 1),
            name=f"SECRET-REWARDS-{slug}", rules={})
        data.points_item = PointsItem.objects.create(tenant=tenant, name=f"SECRET-ITEM-{slug}",
                                                     points=100)
        data.redemption = PointsRedemption.objects.create(
            tenant=tenant, referrer=data.referrer, item=data.points_item, points=100,
            requested_by=world.sales)
        data.points_entry = PointsEntry.objects.create(
            tenant=tenant, referrer=data.referrer, kind=PointsEntry.Kind.EARNED, points=150,
            referral=data.referral)
        data.reward_line = RewardLine.objects.create(
            tenant=tenant, referral=data.referral, referrer=data.referrer,
            kind=RewardLine.Kind.OVERRIDE, amount=123, deal=data.deal,
            explanation=f"SECRET-LINE-{slug}", occurred_on=datetime.date(2026, 1, 2))
        data.staff_referrer = Referrer.objects.create(tenant=tenant, kind=Referrer.Kind.STAFF,
                                                      staff=world.sales)
        data.honour_award = HonourAward.objects.create(
            tenant=tenant, month=datetime.date(2026, 1, 1), rank=1, staff=world.sales,
            referrer=data.staff_referrer, successes=3)


def _populate_deals(world, data: TenantData) -> None:
    """One row of every deals / renewals model (issue 4), made directly."""
    from apps.deals.models import (
        Contract,
        CreditRuleSet,
        Deal,
        DealCredit,
        DealParticipant,
        DealRole,
        Refund,
    )
    from apps.renewals.models import RenewalPolicy, RenewalReminder

    tenant, customer, slug = world.tenant, data.customers[0], world.tenant.slug
    day = datetime.date(2026, 1, 1)
    with tenant_context(tenant):
        data.deal_role = DealRole.objects.create(tenant=tenant, code="closer", name="签单人")
        data.rule_set = CreditRuleSet.objects.create(
            tenant=tenant, version=1, effective_from=day, name=f"SECRET-RULES-{slug}", rules={})
        data.contract = Contract.objects.create(
            tenant=tenant, customer=customer, number=f"SECRET-C-{slug}", start=day,
            end=datetime.date(2026, 12, 31), amount=1000, owner=world.sales, team=world.team1)
        data.deal = Deal.objects.create(
            tenant=tenant, customer=customer, kind=Deal.Kind.NEW, amount=1000, signed_on=day,
            contract_number=f"SECRET-D-{slug}", notes=f"SECRET-DEAL-{slug}", contract=data.contract,
            owner=world.sales, team=world.team1, created_by=world.sales)
        data.participant = DealParticipant.objects.create(tenant=tenant, deal=data.deal,
                                                          staff=world.sales, role=data.deal_role)
        data.refund = Refund.objects.create(tenant=tenant, deal=data.deal, amount=100,
                                            refunded_on=day, reason=f"SECRET-REFUND-{slug}",
                                            created_by=world.manager)
        data.credit = DealCredit.objects.create(tenant=tenant, deal=data.deal, staff=world.sales,
                                                role_code="closer", percent=100, amount=1000,
                                                source=DealCredit.Source.RULES)
        data.renewal_policy = RenewalPolicy.objects.create(tenant=tenant)
        data.reminder = RenewalReminder.objects.create(tenant=tenant, contract=data.contract,
                                                       lead_days=30)


def _populate_ownership(world, data: TenantData) -> None:
    """One row of every ownership model (issue 3), made directly: the isolation tests need the
    rows to exist, not the rules that normally create them."""
    from django.core.files.base import ContentFile

    from apps.disputes.models import Dispute, DisputeEvidence, DisputeShare
    from apps.notifications.models import Notification, NotificationPreference
    from apps.ownership.models import OwnershipPolicy, OwnershipShare, Visit
    from apps.rotation.models import DutySignIn

    tenant, customer = world.tenant, data.customers[0]
    with tenant_context(tenant):
        data.policy = OwnershipPolicy.objects.create(
            tenant=tenant, version=1, effective_from=datetime.date(2026, 1, 1),
            note=f"SECRET-POLICY-{tenant.slug}")
        data.share = OwnershipShare.objects.create(tenant=tenant, customer=customer,
                                                   staff=world.sales, percent=100)
        data.visit = Visit.objects.create(tenant=tenant, customer=customer, team=world.team1,
                                          attributed_to=world.sales, received_by=world.sales,
                                          notes=f"SECRET-VISIT-{tenant.slug}")
        data.dispute = Dispute.objects.create(
            tenant=tenant, customer=customer, team=world.team1, owner=world.sales,
            claimant=world.sales2, opened_by=world.sales2, claim=f"SECRET-CLAIM-{tenant.slug}")
        data.dispute_share = DisputeShare.objects.create(
            tenant=tenant, dispute=data.dispute, stage=DisputeShare.Stage.PROPOSED,
            staff=world.sales, percent=50)
        evidence = DisputeEvidence(tenant=tenant, dispute=data.dispute,
                                   original_name=f"secret-{tenant.slug}.png",
                                   content_type="image/png", size=8, uploaded_by=world.sales2)
        evidence.file.save("e.png", ContentFile(b"\x89PNG\r\n\x1a\n"), save=False)
        evidence.save()
        data.evidence = evidence
        data.sign_in = DutySignIn.objects.create(tenant=tenant, team=world.team1, staff=world.sales,
                                                 day=datetime.date(2026, 1, 1), position=1)
        data.notification = Notification.objects.create(
            tenant=tenant, recipient=world.sales, title=f"SECRET-NOTICE-{tenant.slug}")
        data.notification_preference = NotificationPreference.objects.create(
            tenant=tenant, staff=world.sales, kind=Notification.Kind.FOLLOW_UP, sms=False)


def tenant_models() -> list[type[TenantModel]]:
    return [m for m in apps.get_models() if issubclass(m, TenantModel)]


def _digest_sql(table: str, pk: str, where: str, drop: str = "") -> str:
    """md5 of every selected row as JSON, in primary key order (the row's own values; `drop`
    removes a column that may legitimately change)."""
    row = f"(to_jsonb(t){drop})::text"
    return (f"SELECT %s, count(*), md5(coalesce(string_agg({row}, ',' ORDER BY t.{pk}), '')) "
            f"FROM {table} t WHERE {where}")


def snapshot(world) -> dict:
    """Every row the tenant owns (all tenant models, its tenant row, its users' logins), as
    {label: (rows, md5 of the rows)}: a change of any value of any row changes it.

    One query computed by PostgreSQL (the matrix takes a snapshot after each of its ~3 000
    tests; reading a hundred tables into Python each time was most of its run time). Read in
    the tenant's context with an explicit tenant filter rather than through the scoped
    managers, so the snapshot stays exact even in an experiment that breaks those managers."""
    quote = connection.ops.quote_name
    parts, params = [], []
    for model in tenant_models():
        # Opening one's own notification (a GET link in the inbox) marks it read: the control
        # test does that as A's recipient, which is not a change by tenant B.
        drop = " - 'read_at'" if model._meta.label == "notifications.Notification" else ""
        parts.append(_digest_sql(quote(model._meta.db_table), quote(model._meta.pk.column),
                                 "t.tenant_id = %s", drop))
        params += [model._meta.label, world.tenant.pk]
    parts.append(_digest_sql(quote(Tenant._meta.db_table), "id", "t.id = %s"))
    params += ["tenancy.Tenant", world.tenant.pk]
    # last_login excluded: A's own users signing in (the control tests) legitimately update it.
    parts.append(_digest_sql(
        quote(User._meta.db_table), "id",
        f"t.id IN (SELECT s.user_id FROM {quote(Staff._meta.db_table)} s "
        "WHERE s.tenant_id = %s)", " - 'last_login'"))
    params += ["tenancy.User", world.tenant.pk]
    with tenant_context(world.tenant), connection.cursor() as cur:
        cur.execute(" UNION ALL ".join(parts), params)
        return {label: (count, digest) for label, count, digest in cur.fetchall()}


def tenant_tables() -> list[str]:
    """Every table in `public` with a tenant_id column (from the catalog, privileges aside)."""
    with connection.cursor() as cur:
        cur.execute("""
            SELECT c.relname FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_attribute a ON a.attrelid = c.oid
            WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND a.attname = 'tenant_id'
              AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY c.relname""")
        return [r[0] for r in cur.fetchall()]
