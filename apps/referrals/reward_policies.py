"""Referrer reward policies (转介绍奖励政策): the service that writes a version and the selectors
that read them.

Versions are numbered max + 1 (serialised per tenant by an advisory lock), in force from a day
(today or later in the tenant's time zone, one per day) and never edited.
`reward_policy_for(tenant, day)` gives the version in force on a day; a tenant that never saved
one uses the preset of its industry (apps.referrals.reward_presets.preset_for_industry:
education → "education", any other industry → "home") and the version is None.
"""

from __future__ import annotations

import datetime as dt
import json
import logging

import pydantic
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from apps.core.audit import audit_record
from apps.core.versioning import (
    version_create,
    version_detail,
    version_draft,
    versions_overview,
)
from apps.ownership.selectors import tenant_today
from apps.tenancy.context import current_tenant_id, tenant_context
from apps.tenancy.models import Staff, Tenant
from apps.tenancy.roles import Role

from .models import RewardPolicy
from .reward_presets import PRESET_NAMES, PRESETS, preset_for_industry
from .rewards import (
    RewardRules,
    describe_reward_errors,
    describe_reward_rules,
    parse_reward_rules,
)

logger = logging.getLogger(__name__)

#: pg_advisory_xact_lock(job, tenant) key serialising the numbering of policy versions.
LOCK_REWARD_POLICY = 5001

#: Who may read the policies (admins also write them).
VIEW_ROLES = (Role.ADMIN, Role.MANAGER, Role.FINANCE)


@transaction.atomic
def reward_policy_create(*, tenant: Tenant, actor: Staff | None, effective_from: dt.date | None,
                         name: str, rules: dict | str | None = None, preset: str = "",
                         note: str = "") -> RewardPolicy:
    """Add a version of the tenant's referrer reward policy (administrators; `actor=None`: the
    system). `rules` is the policy data (a dict, a RewardRules, or JSON text; format:
    apps.referrals.rewards); without it the `preset` ("education", "home", "franchise") is
    copied. Refusals are field errors: "rules" lists every problem with where it is,
    "effective_from" must be today or later and free, "name" is required, "preset" known."""
    with tenant_context(tenant):
        if actor is not None and not actor.is_admin:
            raise PermissionDenied(_("Only administrators may change the reward policy."))
        past = _("The reward policy cannot take effect in the past: pick today or a later day.")
        draft = version_draft(tenant=tenant, lock=LOCK_REWARD_POLICY, model=RewardPolicy,
                              effective_from=effective_from, today=tenant_today(tenant),
                              name=name, note=note, preset=preset, presets=PRESETS, rules=rules,
                              past_message=past)
        errors = draft.errors
        name, note, preset = draft.name, draft.note, draft.preset
        parsed: RewardRules | None = None
        if draft.data is not None:
            try:
                parsed = parse_reward_rules(draft.data)
            except pydantic.ValidationError as exc:
                errors["rules"] = describe_reward_errors(exc)
        if parsed is not None and parsed.is_empty():
            errors["rules"] = [_("The policy gives no reward at all: give at least one part "
                                 "(percentage bands, gifts, ordinal cash, points or a count "
                                 "bonus).")]
        if errors:
            raise ValidationError(errors)
        stored = parsed.as_data()
        row = version_create(RewardPolicy, tenant=tenant, effective_from=effective_from,
                             name=name, rules=stored, note=note, created_by=actor)
        audit_record(tenant=tenant, actor=actor, action="referrals.reward_policy.create",
                     target=row, changes={"version": row.version, "effective_from": effective_from,
                                          "name": name, "preset": preset, "rules": stored},
                     reason=note)
        return row


# --------------------------------------------------------------------------- reading

_PRESET_RULES: dict[str, RewardRules] = {}


def preset_reward_rules(preset: str) -> RewardRules:
    """The parsed preset (once per process)."""
    parsed = _PRESET_RULES.get(preset)
    if parsed is None:
        parsed = _PRESET_RULES[preset] = parse_reward_rules(PRESETS[preset])
    return parsed


def parsed_policy(row: RewardPolicy) -> RewardRules | None:
    """The row's rules parsed, or None if the stored data is not valid (only possible when
    written around reward_policy_create)."""
    try:
        return parse_reward_rules(row.rules)
    except pydantic.ValidationError:
        return None


def _in_force_row(day: dt.date) -> RewardPolicy | None:
    return RewardPolicy.objects.filter(effective_from__lte=day).order_by(
        "-effective_from", "-version").first()


def reward_policy_for(tenant: Tenant, day: dt.date | None = None
                      ) -> tuple[RewardPolicy | None, RewardRules]:
    """(version row, rules) in force on `day` (default today, tenant time zone): the version
    with the latest `effective_from` on or before it. Without one (or if its stored data is not
    valid) the preset of the tenant's industry applies and the row is None."""
    day = day or tenant_today(tenant)
    if current_tenant_id() == tenant.pk:
        row = _in_force_row(day)
    else:
        with tenant_context(tenant):
            row = _in_force_row(day)
    if row is not None:
        parsed = parsed_policy(row)
        if parsed is not None:
            return row, parsed
        logger.error("Reward policy %s (tenant %s) is not valid: using the preset", row.pk,
                     tenant.pk)
        row = None
    return None, preset_reward_rules(preset_for_industry(tenant.industry))


def reward_policies_overview(tenant: Tenant, today: dt.date | None = None) -> dict:
    """What the list page shows (apps.core.versioning.versions_overview)."""
    fallback = preset_for_industry(tenant.industry)
    return versions_overview(tenant=tenant, model=RewardPolicy, today=today or tenant_today(tenant),
                             parse=parsed_policy, preset_rules=preset_reward_rules,
                             fallback_preset=fallback, preset_name=PRESET_NAMES[fallback],
                             describe=describe_reward_rules)


def reward_policy_detail(row: RewardPolicy) -> dict:
    """A version made readable: its parts as sentences and the JSON as stored."""
    return version_detail(row, parse=parsed_policy, describe=describe_reward_rules)


def preset_json(preset: str) -> str:
    """A preset as the JSON text the "new version" form starts from."""
    return json.dumps(PRESETS[preset], ensure_ascii=False, indent=2)
