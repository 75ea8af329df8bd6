"""Referrer reward policies (转介绍奖励政策): the service that writes a version and the selectors
that read them.

Versions are numbered max + 1 (serialised per tenant by an advisory lock), in force from a day
(today or later in the tenant's time zone, one per day) and never edited.
`reward_policy_for(tenant, day)` gives the version in force on a day; a tenant that never saved
one uses the preset of its industry (apps.referrals.reward_presets.preset_for_industry:
education → "education", any other industry → "home") and the version is None.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging

import pydantic
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from apps.core.audit import audit_record
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

NAME_MAX = 100
NOTE_MAX = 200
RULES_TEXT_MAX = 20_000


def _advisory_lock(job: int, tenant: Tenant) -> None:
    with connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", [job, int(tenant.pk)])


def _rules_data(rules, preset: str, errors: dict):
    """The rules as data: from `rules` (a dict, or JSON text) or else from the preset."""
    if isinstance(rules, str):
        text = rules.strip()
        if not text:
            rules = None
        elif len(text) > RULES_TEXT_MAX:
            errors["rules"] = [_("At most %(max)s characters.") % {"max": RULES_TEXT_MAX}]
            return None
        else:
            try:
                rules = json.loads(text)
            except json.JSONDecodeError as exc:
                errors["rules"] = [_("This is not valid JSON (line %(line)s, column %(column)s: "
                                     "%(problem)s).") % {"line": exc.lineno, "column": exc.colno,
                                                        "problem": exc.msg}]
                return None
    if rules is None:
        if preset:
            return copy.deepcopy(PRESETS[preset]) if preset in PRESETS else None
        errors["rules"] = [_("Pick a preset or enter the rules.")]
        return None
    return rules


def _day_taken(day: dt.date) -> str:
    return _("A version already takes effect on %(day)s: pick another day.") % {
        "day": day.isoformat()}


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
        _advisory_lock(LOCK_REWARD_POLICY, tenant)
        errors: dict = {}
        preset = (preset or "").strip()
        if preset and preset not in PRESETS:
            errors["preset"] = [_("Unknown preset “%(preset)s”.") % {"preset": preset}]
        name = (name or "").strip()
        if not name:
            errors["name"] = [_("This field is required.")]
        elif len(name) > NAME_MAX:
            errors["name"] = [_("At most %(max)s characters.") % {"max": NAME_MAX}]
        note = (note or "").strip()
        if len(note) > NOTE_MAX:
            errors["note"] = [_("At most %(max)s characters.") % {"max": NOTE_MAX}]
        today = tenant_today(tenant)
        if not isinstance(effective_from, dt.date):
            errors["effective_from"] = [_("This field is required.")]
        elif effective_from < today:
            errors["effective_from"] = [_("The reward policy cannot take effect in the past: "
                                          "pick today or a later day.")]
        elif RewardPolicy.objects.filter(effective_from=effective_from).exists():
            errors["effective_from"] = [_day_taken(effective_from)]
        parsed: RewardRules | None = None
        if isinstance(rules, RewardRules):
            parsed = rules
        else:
            data = _rules_data(rules, preset if "preset" not in errors else "", errors)
            if data is not None:
                try:
                    parsed = parse_reward_rules(data)
                except pydantic.ValidationError as exc:
                    errors["rules"] = describe_reward_errors(exc)
        if parsed is not None and parsed.is_empty():
            errors["rules"] = [_("The policy gives no reward at all: give at least one part "
                                 "(percentage bands, gifts, ordinal cash, points or a count "
                                 "bonus).")]
        if errors:
            raise ValidationError(errors)
        stored = parsed.as_data()
        version = (RewardPolicy.objects.aggregate(v=Max("version"))["v"] or 0) + 1
        try:
            with transaction.atomic():
                row = RewardPolicy.objects.create(
                    tenant=tenant, version=version, effective_from=effective_from, name=name,
                    rules=stored, note=note, created_by=actor)
        except IntegrityError:
            raise ValidationError({"effective_from": [_day_taken(effective_from)]}) from None
        audit_record(tenant=tenant, actor=actor, action="referrals.reward_policy.create",
                     target=row, changes={"version": version, "effective_from": effective_from,
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
    """What the list page shows: the version in force (or the preset used instead), the
    scheduled versions and every version, newest first."""
    today = today or tenant_today(tenant)
    with tenant_context(tenant):
        rows = list(RewardPolicy.objects.select_related("created_by")
                    .order_by("-effective_from", "-version"))
    current = next((r for r in rows if r.effective_from <= today), None)
    scheduled = sorted((r for r in rows if r.effective_from > today),
                       key=lambda r: r.effective_from)
    fallback_preset = preset_for_industry(tenant.industry)
    rules = parsed_policy(current) if current is not None else None
    if rules is None:
        rules = preset_reward_rules(fallback_preset)
    return {"today": today, "current": current, "scheduled": scheduled, "history": rows,
            "rules": rules, "described": describe_reward_rules(rules),
            "fallback_preset": fallback_preset,
            "fallback_preset_name": PRESET_NAMES[fallback_preset]}


def reward_policy_detail(row: RewardPolicy) -> dict:
    """A version made readable: its parts as sentences (None when the stored data is not
    valid), and the JSON as stored."""
    parsed = parsed_policy(row)
    return {"row": row, "rules": parsed,
            "described": describe_reward_rules(parsed) if parsed is not None else None,
            "json": json.dumps(row.rules, ensure_ascii=False, indent=2)}


def preset_json(preset: str) -> str:
    """A preset as the JSON text the "new version" form starts from."""
    return json.dumps(PRESETS[preset], ensure_ascii=False, indent=2)
