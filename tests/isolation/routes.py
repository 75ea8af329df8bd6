"""URL discovery for the cross-tenant matrix: walks the URLconf, so routes added later are covered
without anyone editing a list. Importing this needs the URLconf, not the database."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.regex_helper import normalize

# Object-id kwargs: pk, id, <name>_pk, <name>_id.
ID_KWARG = re.compile(r"^(pk|id|[a-z0-9_]+_(pk|id))$")
# The Django admin has its own test (its URLs carry object ids as `object_id`, and the admin
# answers with a redirect, not a 404); API schema/doc pages hold no tenant data.
SKIP_PREFIXES = ("admin/", "api/schema/", "api/docs/", "api/redoc/")
API_PREFIX = "api/v1/"

# Path segment or kwarg prefix -> the kind of object it identifies.
TOKEN_KINDS = {
    "customer": "customer", "customers": "customer", "related": "customer",
    "relation": "relation", "relations": "relation",
    "team": "team", "teams": "team",
    "staff": "staff", "member": "staff", "members": "staff", "owner": "staff",
    "user": "user", "users": "user",
    "audit": "audit", "audits": "audit", "audit-entries": "audit", "audit_entries": "audit",
    "team-counts": "team_count", "team_counts": "team_count",
    # Issue 3: ownership, disputes, rotation, notifications.
    "dispute": "dispute", "disputes": "dispute",
    "evidence": "evidence",
    "sign-ins": "sign_in", "sign_ins": "sign_in", "sign_in": "sign_in",
    "notification": "notification", "notifications": "notification",
    "policy": "policy", "policies": "policy",
    "visit": "visit", "visits": "visit",
    "share": "share", "shares": "share",
    # Issue 4: deals and renewals.
    "deal": "deal", "deals": "deal",
    "contract": "contract", "contracts": "contract",
    "refund": "refund", "refunds": "refund",
    "participant": "participant", "participants": "participant",
    "roles": "deal_role", "deal-roles": "deal_role", "deal_roles": "deal_role",
    "rules": "rule_set", "rule-sets": "rule_set", "rule_sets": "rule_set",
    "credit-rules": "rule_set", "credit_rules": "rule_set",
    "reminders": "reminder",
    # Issue 5: referrals.
    "referrer": "referrer", "referrers": "referrer",
    "card": "card", "cards": "card",
    "referral": "referral", "referrals": "referral",
    "reward-policies": "reward_policy", "reward_policies": "reward_policy",
    "items": "points_item", "points-items": "points_item",
    "redemptions": "redemption",
    "points": "points_entry",
    "lines": "reward_line", "reward-lines": "reward_line",
    "awards": "honour_award",
    # Issue 6: commissions.
    "rule-versions": "commission_rules", "commission-rules": "commission_rules",
    "settlements": "settlement", "settlement": "settlement",
    "commission-lines": "commission_line", "team-approvals": "team_approval",
    "penalties": "penalty", "penalty": "penalty",
    # Issue 7: VIP tiers and cards.
    "tier-schemes": "tier_scheme", "tier_schemes": "tier_scheme",
    "tier-changes": "tier_change", "vip-cards": "vip_card", "vip_cards": "vip_card",
    "vouchers": "voucher", "voucher": "voucher", "gifts": "gift", "gift": "gift",
    # Issue 8: follow-ups.
    "followups": "followup", "tasks": "followup", "task": "followup",
    "plans": "followup_plan", "plan": "followup_plan",
    # Issue 9: background exports.
    "exports": "export_job",
}
MODEL_KINDS = {
    "customers.Customer": "customer", "customers.CustomerRelation": "relation",
    "customers.TeamCustomerCount": "team_count", "tenancy.Team": "team", "tenancy.Staff": "staff",
    "tenancy.User": "user", "core.AuditEntry": "audit",
    "customers.OwnershipChange": "ownership_change", "ownership.OwnershipPolicy": "policy",
    "ownership.OwnershipShare": "share", "ownership.Visit": "visit", "disputes.Dispute": "dispute",
    "disputes.DisputeShare": "dispute_share", "disputes.DisputeEvidence": "evidence",
    "rotation.DutySignIn": "sign_in", "notifications.Notification": "notification",
    "deals.DealRole": "deal_role", "deals.CreditRuleSet": "rule_set", "deals.Contract": "contract",
    "deals.Deal": "deal", "deals.DealParticipant": "participant", "deals.Refund": "refund",
    "deals.DealCredit": "credit", "renewals.RenewalPolicy": "renewal_policy",
    "renewals.RenewalReminder": "reminder",
    "referrals.Referrer": "referrer", "referrals.ReferralCard": "card",
    "referrals.Referral": "referral", "referrals.RewardPolicy": "reward_policy",
    "referrals.PointsItem": "points_item", "referrals.PointsRedemption": "redemption",
    "referrals.PointsEntry": "points_entry", "referrals.RewardLine": "reward_line",
    "referrals.HonourAward": "honour_award",
    "commissions.CommissionRuleSet": "commission_rules",
    "commissions.CommissionSettings": "commission_settings",
    "commissions.Settlement": "settlement", "commissions.TeamApproval": "team_approval",
    "commissions.CommissionLine": "commission_line", "commissions.PenaltyEvent": "penalty",
    "vip.TierScheme": "tier_scheme", "vip.CustomerTier": "customer_tier",
    "vip.TierChange": "tier_change", "vip.VipCard": "vip_card", "vip.VoucherUse": "voucher",
    "vip.GiftGiven": "gift",
    "followups.FollowUpPlan": "followup_plan", "followups.FollowUpTask": "followup",
    "notifications.NotificationPreference": "notification_preference",
    "exports.ExportJob": "export_job",
}


@dataclass(frozen=True)
class Route:
    kind: str              # "html" or "api"
    template: str          # "customers/<pk>/edit/" (readable; used in test ids)
    fmt: str               # "/customers/%(pk)s/edit/"
    params: tuple[str, ...]
    object_kinds: tuple[str | None, ...]  # per param; None = not understood (the test fails)
    namespace: str
    name: str | None
    callback: object

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.template}"

    def url(self, values: dict[str, object]) -> str:
        return self.fmt % {p: values[p] for p in self.params}


def _view_model(callback):
    cls = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    model = getattr(cls, "model", None)
    if model is None:
        model = getattr(getattr(cls, "queryset", None), "model", None)
    return model


def _object_kind(fmt: str, param: str, callback) -> str | None:
    if param not in ("pk", "id"):
        return TOKEN_KINDS.get(param.rsplit("_", 1)[0])
    # The literal segment just before the placeholder: "customers/%(pk)s/" -> "customers".
    before = fmt.split(f"%({param})s", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    if before in TOKEN_KINDS:
        return TOKEN_KINDS[before]
    model = _view_model(callback)
    return MODEL_KINDS.get(model._meta.label) if model is not None else None


def _walk(patterns, fmt: str, namespaces: tuple[str, ...]):
    for p in patterns:
        bits = normalize(p.pattern.regex.pattern)
        if not bits:
            continue
        part = bits[0][0]
        if isinstance(p, URLResolver):
            ns = namespaces + ((p.namespace,) if p.namespace else ())
            yield from _walk(p.url_patterns, fmt + part, ns)
        elif isinstance(p, URLPattern):
            yield fmt + part, namespaces, p


def discover(skip: tuple[str, ...] = SKIP_PREFIXES) -> list[Route]:
    """Every route of the project outside `skip`, with or without kwargs."""
    routes = []
    for fmt, namespaces, pattern in _walk(get_resolver().url_patterns, "", ()):
        if fmt.startswith(skip):
            continue
        params = tuple(re.findall(r"%\((\w+)\)s", fmt))
        if "format" in params:  # DRF format-suffix twins of routes already listed
            continue
        template = re.sub(r"%\((\w+)\)s", r"<\1>", fmt)
        kinds = tuple(_object_kind(fmt, p, pattern.callback) if ID_KWARG.match(p) else None
                      for p in params)
        routes.append(Route(
            kind="api" if fmt.startswith(API_PREFIX) else "html", template=template,
            fmt="/" + fmt, params=params, object_kinds=kinds, namespace=":".join(namespaces),
            name=pattern.name, callback=pattern.callback))
    return routes


def object_routes() -> list[Route]:
    """Routes that take an object id: the matrix."""
    return [r for r in discover() if any(ID_KWARG.match(p) for p in r.params)]


def collection_routes() -> list[Route]:
    """Routes without kwargs: list pages, dashboards, exports, the API collections."""
    return [r for r in discover() if not r.params]
