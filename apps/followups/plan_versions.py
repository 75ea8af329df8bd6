"""The tenant's follow-up plan versions (回访计划): the service that writes them and the
selectors that read them (apps.vip.schemes is the model).

A plan is a version (apps.core.versioning): numbered max + 1 under a per-tenant advisory lock,
in force from a day (today or later in the tenant's time zone, one per day), never edited. Its
data is validated by apps.followups.plans. Administrators write; administrators, managers and
customer service read. Before the first saved version the "default" preset is in force as
version 0.
"""

from __future__ import annotations

import datetime as dt
import json

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.core.versioning import (
    ParsedCache,
    rules_version_save,
    version_detail,
    versions_overview,
)
from apps.ownership.selectors import tenant_today
from apps.tenancy.context import in_tenant, tenant_context
from apps.tenancy.models import Staff, Tenant
from apps.tenancy.roles import Role

from .models import FollowUpPlan
from .plans import (
    PRESET_NAMES,
    PRESETS,
    PlanRules,
    describe_plan_errors,
    describe_plan_rules,
    parse_plan_rules,
)

#: pg_advisory_xact_lock(job, tenant) key serialising the numbering of plan versions.
LOCK_PLAN = 8001

VIEW_ROLES = (Role.ADMIN, Role.MANAGER, Role.CUSTOMER_SERVICE)
FALLBACK_PRESET = "default"


@transaction.atomic
def plan_create(*, tenant: Tenant, actor: Staff | None, effective_from: dt.date | None,
                name: str, rules: dict | str | None = None, preset: str = "",
                note: str = "") -> FollowUpPlan:
    """Add a version of the tenant's follow-up plan (administrators; `actor=None`: the system).
    `rules` is the data (a dict or its JSON text; format: apps.followups.plans); without it
    the `preset` is copied. Refusals are field errors ("rules" lists every problem)."""
    with tenant_context(tenant):
        if actor is not None and not actor.is_admin:
            raise PermissionDenied(_("Only administrators may change the follow-up plan."))
        row, _parsed = rules_version_save(
            FollowUpPlan, tenant=tenant, actor=actor, lock=LOCK_PLAN,
            today=tenant_today(tenant), effective_from=effective_from, name=name, note=note,
            preset=preset, presets=PRESETS, rules=rules,
            past_message=_("The plan cannot take effect in the past: pick today or a later "
                           "day."),
            parse=parse_plan_rules, describe_errors=describe_plan_errors, cache=_CACHE,
            action="followups.plan.create")
        return row


# --------------------------------------------------------------------------- reading

_CACHE = ParsedCache()
_DEFAULT = parse_plan_rules(PRESETS[FALLBACK_PRESET])


def plan_preset_rules(preset: str) -> PlanRules:
    return _DEFAULT if preset == FALLBACK_PRESET else parse_plan_rules(PRESETS[preset])


def plan_parsed(row: FollowUpPlan) -> PlanRules | None:
    """The row's rules parsed (cached per process by tenant and version), or None if the
    stored data is not valid (only possible when written around plan_create)."""
    return _CACHE.parsed(row, parse_plan_rules)


def plan_in_force(tenant: Tenant, day: dt.date | None = None) -> FollowUpPlan | None:
    """The version in force on `day` (default the tenant's today); None: the preset applies."""
    day = day or tenant_today(tenant)
    with in_tenant(tenant):
        return (FollowUpPlan.objects.filter(effective_from__lte=day)
                .order_by("-effective_from", "-version").first())


def plan_for(tenant: Tenant, day: dt.date | None = None) -> tuple[int, PlanRules]:
    """(version, rules) in force on `day`; (0, the default preset) before the first version."""
    row = plan_in_force(tenant, day)
    if row is None:
        return 0, _DEFAULT
    return row.version, plan_parsed(row) or _DEFAULT


def plans_overview(tenant: Tenant, today: dt.date | None = None) -> dict:
    return versions_overview(tenant=tenant, model=FollowUpPlan,
                             today=today or tenant_today(tenant), parse=plan_parsed,
                             preset_rules=plan_preset_rules, fallback_preset=FALLBACK_PRESET,
                             preset_name=gettext_lazy(PRESET_NAMES[FALLBACK_PRESET]),
                             describe=describe_plan_rules)


def plan_detail(row: FollowUpPlan) -> dict:
    return version_detail(row, parse=plan_parsed, describe=describe_plan_rules)


def plan_preset_json(preset: str) -> str:
    return json.dumps(PRESETS[preset], ensure_ascii=False, indent=2)


def plan_version_json(row: FollowUpPlan) -> str:
    return json.dumps(row.rules, ensure_ascii=False, indent=2)
