"""Deal roles and credit rule sets: the services that write them and the selectors that read them.

* Deal roles (签单人, 咨询师, …) are tenant data; the defaults (apps.deals.rules.DEFAULT_ROLES) are
  created on demand by `deal_roles_ensure`. A role is never deleted: it is deactivated. Its
  `code` never changes (the rule sets and the credit lines refer to it).
* Credit rule sets are versions: numbered max + 1, in force from a day (today or later in the
  tenant's time zone, one per day), never edited. `rule_set_for(tenant, day)` gives the version in
  force on a signing day; a tenant that never saved one uses the preset of its industry.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re

import pydantic
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import translation
from django.utils.translation import gettext as _

from apps.core.audit import audit_record, diff
from apps.core.versioning import (
    ParsedCache,
    version_create,
    version_detail,
    version_draft,
    versions_overview,
)
from apps.ownership.selectors import tenant_today
from apps.tenancy.context import current_tenant_id, tenant_context
from apps.tenancy.models import Staff, Tenant
from apps.tenancy.roles import Role

from .engine import ROLE_CODE_PATTERN, RuleSet, describe_errors, describe_rules, parse_rules
from .models import CreditRuleSet, DealRole
from .rules import DEFAULT_ROLES, PRESET_NAMES, PRESETS, preset_for_industry

logger = logging.getLogger(__name__)

#: pg_advisory_xact_lock(job, tenant) key serialising the numbering of rule set versions.
LOCK_RULE_SET = 4001

#: Who may read the rule sets and the roles (admins also write them).
VIEW_ROLES = (Role.ADMIN, Role.MANAGER, Role.FINANCE)

ROLE_NAME_MAX = 50


def _require_admin(actor: Staff | None, message: str) -> None:
    if actor is not None and not actor.is_admin:
        raise PermissionDenied(message)


# --------------------------------------------------------------------------- deal roles

@transaction.atomic
def deal_roles_ensure(tenant: Tenant) -> list[DealRole]:
    """The tenant's roles (active or not, in order), after creating any default role that is
    missing (its name in the site language). Idempotent and safe when run twice at once
    (INSERT … ON CONFLICT DO NOTHING on the unique (tenant, code))."""
    with tenant_context(tenant):
        have = set(DealRole.objects.values_list("code", flat=True))
        missing = [(code, name, order) for code, name, order in DEFAULT_ROLES if code not in have]
        if missing:
            with translation.override(settings.LANGUAGE_CODE):
                rows = [DealRole(tenant=tenant, code=code, name=str(name), order=order)
                        for code, name, order in missing]
            DealRole.objects.bulk_create(rows, ignore_conflicts=True)
        return list(DealRole.objects.order_by("order", "id"))


def _role_values(*, name, order, errors: dict) -> tuple[str, int]:
    name = (name or "").strip()
    if not name:
        errors["name"] = [_("This field is required.")]
    elif len(name) > ROLE_NAME_MAX:
        errors["name"] = [_("At most %(max)s characters.") % {"max": ROLE_NAME_MAX}]
    if order in (None, ""):
        order = 0
    try:
        order = int(order)
        if not 0 <= order <= 32767:
            raise ValueError
    except (TypeError, ValueError):
        errors["order"] = [_("Enter a whole number from 0 to 32767.")]
        order = 0
    return name, order


@transaction.atomic
def deal_role_create(*, tenant: Tenant, actor: Staff | None, code: str, name: str,
                     order: int | None = 0) -> DealRole:
    """Add a deal role (administrators). `code` is what the rule sets refer to: letters,
    digits, _ or -, unique in the tenant, never changed afterwards."""
    with tenant_context(tenant):
        _require_admin(actor, _("Only administrators may change the deal roles."))
        errors: dict = {}
        code = (code or "").strip()
        if not code:
            errors["code"] = [_("This field is required.")]
        elif not re.match(ROLE_CODE_PATTERN, code):
            errors["code"] = [_("Use at most 30 letters, digits, _ or - (no spaces).")]
        elif DealRole.objects.filter(code=code).exists():
            errors["code"] = [_("A role with this code already exists.")]
        name, order = _role_values(name=name, order=order, errors=errors)
        if errors:
            raise ValidationError(errors)
        try:
            with transaction.atomic():
                role = DealRole.objects.create(tenant=tenant, code=code, name=name, order=order)
        except IntegrityError:
            raise ValidationError({"code": [_("A role with this code already exists.")]}) from None
        audit_record(tenant=tenant, actor=actor, action="deals.role.create", target=role,
                     changes={"code": code, "name": name, "order": order})
        return role


@transaction.atomic
def deal_role_update(*, tenant: Tenant, actor: Staff | None, role: DealRole | int,
                     name: str | None = None, order: int | None = None,
                     active: bool | None = None) -> DealRole:
    """Rename, reorder, deactivate or reactivate a role (administrators). The code stays; a
    role is deactivated, never deleted (deals that used it keep it). None: unchanged."""
    with tenant_context(tenant):
        _require_admin(actor, _("Only administrators may change the deal roles."))
        pk = role.pk if isinstance(role, DealRole) else role
        role = DealRole.objects.select_for_update().get(pk=pk)
        errors: dict = {}
        new_name, new_order = _role_values(
            name=role.name if name is None else name,
            order=role.order if order is None else order, errors=errors)
        if errors:
            raise ValidationError(errors)
        data = {"name": new_name, "order": new_order,
                "active": role.active if active is None else bool(active)}
        changes = diff(role, data)
        if changes:
            for field, value in data.items():
                setattr(role, field, value)
            role.save(update_fields=list(changes))
            audit_record(tenant=tenant, actor=actor, action="deals.role.update", target=role,
                         changes=changes)
        return role


def deal_roles(tenant: Tenant, *, active_only: bool = False) -> list[DealRole]:
    """The tenant's roles in order (defaults created first if missing)."""
    roles = deal_roles_ensure(tenant)
    return [r for r in roles if r.active] if active_only else roles


# --------------------------------------------------------------------------- rule sets

@transaction.atomic
def rule_set_create(*, tenant: Tenant, actor: Staff | None, effective_from: dt.date | None,
                    name: str, rules: dict | str | None = None, preset: str = "",
                    note: str = "") -> CreditRuleSet:
    """Add a version of the tenant's credit rules (administrators; `actor=None`: the system).

    `rules` is the rule set data (a dict or its JSON text; format: apps.deals.engine); without
    it the `preset` ("education", "general") is copied. Refusals are field errors: "rules" lists
    every problem (and every role code that is not one of the tenant's roles), "effective_from"
    must be today or later and free, "preset" must be known. Versions are numbered max + 1."""
    with tenant_context(tenant):
        _require_admin(actor, _("Only administrators may change the credit rules."))
        past = _("The rules cannot take effect in the past: pick today or a later day.")
        draft = version_draft(tenant=tenant, lock=LOCK_RULE_SET, model=CreditRuleSet,
                              effective_from=effective_from, today=tenant_today(tenant),
                              name=name, note=note, preset=preset, presets=PRESETS, rules=rules,
                              past_message=past)
        errors, data = draft.errors, draft.data
        name, note, preset = draft.name, draft.note, draft.preset
        parsed: RuleSet | None = None
        if data is not None:
            try:
                parsed = parse_rules(data)
            except pydantic.ValidationError as exc:
                errors["rules"] = describe_errors(exc)
        if parsed is not None:
            known = set(r.code for r in deal_roles_ensure(tenant))
            unknown = [code for code in parsed.role_codes() if code not in known]
            if unknown:
                errors["rules"] = [_("These roles do not exist: %(codes)s. Add them on the deal "
                                     "roles page first, or correct the codes.")
                                   % {"codes": ", ".join(unknown)}]
        if errors:
            raise ValidationError(errors)
        stored = parsed.model_dump(mode="json", by_alias=True, exclude_defaults=True)
        row = version_create(CreditRuleSet, tenant=tenant, effective_from=effective_from,
                             name=name, preset=preset, rules=stored, note=note,
                             created_by=actor)
        audit_record(tenant=tenant, actor=actor, action="deals.rule_set.create", target=row,
                     changes={"version": row.version, "effective_from": effective_from,
                              "name": name, "preset": preset}, reason=note)
        _CACHE.put((row.pk, row.version), parsed)
        return row


# --------------------------------------------------------------------------- reading rules

_CACHE = ParsedCache()
_PRESET_RULES: dict[str, RuleSet] = {}


def preset_rules(preset: str) -> RuleSet:
    """The parsed preset (compiled once per process)."""
    parsed = _PRESET_RULES.get(preset)
    if parsed is None:
        parsed = _PRESET_RULES[preset] = parse_rules(PRESETS[preset])
    return parsed


def parsed_rules(row: CreditRuleSet) -> RuleSet | None:
    """The row's rules parsed (cached), or None if the stored data is not valid (only possible
    when written around rule_set_create)."""
    key = (row.pk, row.version)
    parsed = _CACHE.get(key)
    if parsed is None:
        try:
            parsed = parse_rules(row.rules)
        except pydantic.ValidationError:
            return None
        _CACHE.put(key, parsed)
    return parsed


def _in_force_row(day: dt.date):
    return (CreditRuleSet.objects.filter(effective_from__lte=day)
            .order_by("-effective_from", "-version").values_list("pk", "version").first())


def rule_set_for(tenant: Tenant, day: dt.date | None = None) -> tuple[int | None, RuleSet]:
    """(version, rules) in force on `day` (default today, tenant time zone): the version with
    the latest `effective_from` on or before it. A tenant without one uses the preset of its
    industry (education → "education", else "general") and the version is None.

    One small query when the version was parsed before in this process (the usual case)."""
    day = day or tenant_today(tenant)
    if current_tenant_id() == tenant.pk:
        found = _in_force_row(day)
    else:
        with tenant_context(tenant):
            found = _in_force_row(day)
    if found is not None:
        pk, version = found
        parsed = _CACHE.get((pk, version))
        if parsed is not None:
            return version, parsed
        with tenant_context(tenant):
            row = CreditRuleSet.objects.get(pk=pk)
        parsed = parsed_rules(row)
        if parsed is not None:
            return version, parsed
        logger.error("Credit rule set %s (tenant %s) is not valid: using the preset", pk,
                     tenant.pk)
    return None, preset_rules(preset_for_industry(tenant.industry))


def rule_set_in_force_pk(tenant: Tenant, day: dt.date | None = None) -> int | None:
    """The id of the version in force on `day` (default today), None if the preset applies."""
    day = day or tenant_today(tenant)
    with tenant_context(tenant):
        found = _in_force_row(day)
    return found[0] if found is not None else None


def rule_sets_overview(tenant: Tenant, today: dt.date | None = None) -> dict:
    """What the rule sets page shows (apps.core.versioning.versions_overview)."""
    fallback = preset_for_industry(tenant.industry)
    return versions_overview(tenant=tenant, model=CreditRuleSet, today=today or tenant_today(tenant),
                             parse=parsed_rules, preset_rules=preset_rules,
                             fallback_preset=fallback, preset_name=PRESET_NAMES[fallback],
                             describe=describe_rules)


def rule_set_detail(row: CreditRuleSet) -> dict:
    """A version made readable: its rules per kind as sentences and the JSON as stored."""
    return version_detail(row, parse=parsed_rules, describe=describe_rules)


def preset_json(preset: str) -> str:
    """A preset as the JSON text the "new version" form starts from."""
    return json.dumps(PRESETS[preset], ensure_ascii=False, indent=2)
