"""Commission rule sets (提成规则) and the settlement settings: the services that write them and the
selectors that read them (the credit rule sets of apps.deals.rulesets are the model).

* A rule set is a version: numbered max + 1 under a per-tenant advisory lock, in force from a
  day (today or later in the tenant's time zone, one per day), never edited. Its data is
  validated by apps.commissions.rules (errors listed in the site language) and its role codes
  must be the tenant's deal roles.
* `rule_book_for(tenant)` is every version as an engine RuleBook. Before the first saved version
  (and for a tenant that never saved one) the preset of the tenant's industry is in force: it is
  version 0, valid from date.min. Rows are parsed once per process (rows are never edited).
* `commission_settings_for(tenant)`: the one settings row (created with the defaults);
  administrators change the calculation day (1–28) with `commission_settings_update`.
* `commission_rules_preview`: what last month would have paid under a draft, next to what the
  rules in force pay (the month's facts read once, calculated twice, nothing saved).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass
from decimal import Decimal
from threading import Lock

import pydantic
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from apps.core.audit import audit_record, diff
from apps.core.versioning import (
    ParsedCache,
    rules_data,
    version_create,
    version_detail,
    version_draft,
    versions_overview,
)
from apps.deals.rulesets import deal_roles_ensure
from apps.ownership.selectors import tenant_today
from apps.tenancy.context import current_tenant_id, tenant_context
from apps.tenancy.models import Staff, Tenant
from apps.tenancy.roles import Role

from .engine import RuleBook, RuleVersion, calculate
from .facts import month_inputs
from .models import CommissionRuleSet, CommissionSettings
from .presets import PRESET_NAMES, PRESETS, preset_for_industry
from .rules import (
    CommissionRules,
    describe_commission_errors,
    describe_commission_rules,
    parse_commission_rules,
)

logger = logging.getLogger(__name__)

#: pg_advisory_xact_lock(job, tenant) key serialising the numbering of commission rule sets.
LOCK_COMMISSION_RULE_SET = 6001

#: Who may read the commission rules and settings (administrators also write them).
VIEW_ROLES = (Role.ADMIN, Role.MANAGER, Role.FINANCE)
#: Who may preview a draft (it is part of writing a version).
PREVIEW_ROLES = (Role.ADMIN,)

CALCULATION_DAY_MIN, CALCULATION_DAY_MAX = 1, 28


def _require_admin(actor: Staff | None, message: str) -> None:
    if actor is not None and not actor.is_admin:
        raise PermissionDenied(message)


def commission_role_codes(rules: CommissionRules) -> list[str]:
    """Every deal role code the rules name (rate roles, fixed amounts, pool shares), in order of
    appearance, each once."""
    seen: dict[str, None] = {}
    for rule in rules.rules:
        if rule.kind == "rate":
            seen.update(dict.fromkeys(rule.roles))
        elif rule.kind == "fixed":
            for band in rule.bands:
                seen.update(dict.fromkeys(band.amounts))
        elif rule.kind == "pool":
            for window in rule.windows:
                seen.update(dict.fromkeys(window.shares))
    return list(seen)


def _validated(tenant: Tenant, data, errors: dict) -> CommissionRules | None:
    """The parsed rules, or None with errors["rules"] (every problem, or the unknown roles)."""
    try:
        parsed = parse_commission_rules(data)
    except pydantic.ValidationError as exc:
        errors["rules"] = describe_commission_errors(exc)
        return None
    known = {r.code for r in deal_roles_ensure(tenant)}
    unknown = [code for code in commission_role_codes(parsed) if code not in known]
    if unknown:
        errors["rules"] = [_("These roles do not exist: %(codes)s. Add them on the deal "
                             "roles page first, or correct the codes.")
                           % {"codes": ", ".join(unknown)}]
        return None
    return parsed


def _stored(parsed: CommissionRules) -> dict:
    return parsed.model_dump(mode="json", exclude_defaults=True)


# --------------------------------------------------------------------------- rule sets

@transaction.atomic
def commission_rule_set_create(*, tenant: Tenant, actor: Staff | None,
                               effective_from: dt.date | None, name: str,
                               rules: dict | str | None = None, preset: str = "",
                               note: str = "") -> CommissionRuleSet:
    """Add a version of the tenant's commission rules (administrators; `actor=None`: the
    system).

    `rules` is the data (a dict or its JSON text; format: apps.commissions.rules); without it
    the `preset` ("education", "home") is copied. Refusals are field errors: "rules" lists every
    problem in the site language (or the role codes that are not the tenant's deal roles),
    "effective_from" must be today or later and free, "preset" known, "name" given."""
    with tenant_context(tenant):
        _require_admin(actor, _("Only administrators may change the commission rules."))
        past = _("The rules cannot take effect in the past: pick today or a later day.")
        draft = version_draft(tenant=tenant, lock=LOCK_COMMISSION_RULE_SET,
                              model=CommissionRuleSet, effective_from=effective_from,
                              today=tenant_today(tenant), name=name, note=note, preset=preset,
                              presets=PRESETS, rules=rules, past_message=past)
        errors = draft.errors
        parsed = _validated(tenant, draft.data, errors) if draft.data is not None else None
        if errors:
            raise ValidationError(errors)
        row = version_create(CommissionRuleSet, tenant=tenant, effective_from=effective_from,
                             name=draft.name, preset=draft.preset, rules=_stored(parsed),
                             note=draft.note, created_by=actor)
        audit_record(tenant=tenant, actor=actor, action="commissions.rule_set.create",
                     target=row, changes={"version": row.version,
                                          "effective_from": effective_from,
                                          "name": draft.name, "preset": draft.preset},
                     reason=draft.note)
        _CACHE.put((row.pk, row.version), parsed)
        return row


# --------------------------------------------------------------------------- reading rules

_CACHE = ParsedCache()
_BOOKS = ParsedCache(size=256)
_PRESET_RULES: dict[str, CommissionRules] = {}
_PRESET_LOCK = Lock()


def commission_preset_rules(preset: str) -> CommissionRules:
    """The parsed preset (once per process)."""
    parsed = _PRESET_RULES.get(preset)
    if parsed is None:
        with _PRESET_LOCK:
            parsed = _PRESET_RULES[preset] = parse_commission_rules(PRESETS[preset])
    return parsed


def commission_parsed_rules(row: CommissionRuleSet) -> CommissionRules | None:
    """The row's rules parsed (cached per process), or None if the stored data is not valid
    (only possible when written around commission_rule_set_create)."""
    key = (row.pk, row.version)
    parsed = _CACHE.get(key)
    if parsed is None:
        try:
            parsed = parse_commission_rules(row.rules)
        except pydantic.ValidationError:
            return None
        _CACHE.put(key, parsed)
    return parsed


def _book_versions(tenant: Tenant, rows: Iterable[tuple]) -> list[RuleVersion]:
    preset = preset_for_industry(tenant.industry)
    versions = [RuleVersion(dt.date.min, 0, commission_preset_rules(preset))]
    for pk, version, valid_from, data in rows:
        parsed = _CACHE.get((pk, version))
        if parsed is None:
            try:
                parsed = parse_commission_rules(data)
            except pydantic.ValidationError:
                logger.error("Commission rule set %s (tenant %s) is not valid: skipped", pk,
                             tenant.pk)
                continue
            _CACHE.put((pk, version), parsed)
        versions.append(RuleVersion(valid_from, version, parsed))
    return versions


def rule_book_for(tenant: Tenant) -> RuleBook:
    """Every version of the tenant's commission rules as an engine RuleBook: the preset of the
    tenant's industry as version 0 from date.min (in force before the first saved version, or
    always when none was saved), then each saved version from its day. The book is built once
    per process per set of versions (one query when nothing changed, the JSON only read for a
    version not parsed yet; inside the tenant's context, nothing more)."""
    with nullcontext() if current_tenant_id() == tenant.pk else tenant_context(tenant):
        keys = tuple(CommissionRuleSet.objects.order_by("effective_from")
                     .values_list("pk", "version", "effective_from"))
        book_key = (tenant.pk, tenant.industry, keys)
        book = _BOOKS.get(book_key)
        if book is not None:
            return book
        missing = [pk for pk, version, _day in keys if _CACHE.get((pk, version)) is None]
        data = dict(CommissionRuleSet.objects.filter(pk__in=missing)
                    .values_list("pk", "rules")) if missing else {}
    book = RuleBook(_book_versions(tenant, ((pk, version, day, data.get(pk))
                                            for pk, version, day in keys)))
    _BOOKS.put(book_key, book)
    return book


def commission_rule_sets_overview(tenant: Tenant, today: dt.date | None = None) -> dict:
    """What the rules page shows (apps.core.versioning.versions_overview)."""
    fallback = preset_for_industry(tenant.industry)
    return versions_overview(tenant=tenant, model=CommissionRuleSet, today=today or tenant_today(tenant),
                             parse=commission_parsed_rules, preset_rules=commission_preset_rules,
                             fallback_preset=fallback, preset_name=PRESET_NAMES[fallback],
                             describe=describe_commission_rules)


def commission_rule_set_detail(row: CommissionRuleSet) -> dict:
    """A version made readable: its rules as sentences and the JSON as stored."""
    return version_detail(row, parse=commission_parsed_rules, describe=describe_commission_rules)


def commission_in_force_pk(tenant: Tenant, day: dt.date | None = None) -> int | None:
    """The id of the version in force on `day` (default today), None if the preset applies."""
    day = day or tenant_today(tenant)
    with tenant_context(tenant):
        return (CommissionRuleSet.objects.filter(effective_from__lte=day)
                .order_by("-effective_from", "-version").values_list("pk", flat=True).first())


def commission_preset_json(preset: str) -> str:
    """A preset as the JSON text the "new version" form starts from."""
    return json.dumps(PRESETS[preset], ensure_ascii=False, indent=2)


# --------------------------------------------------------------------------- preview

@dataclass(frozen=True)
class PreviewRow:
    staff_id: int
    name: str
    team: str
    current: Decimal          # last month under the rules in force
    draft: Decimal            # last month under the draft

    @property
    def difference(self) -> Decimal:
        return self.draft - self.current


@dataclass(frozen=True)
class Preview:
    month: dt.date            # the first day of the month previewed
    rules: CommissionRules    # the draft, validated
    rows: list[PreviewRow]    # by name; people paid something under either rules
    current_total: Decimal
    draft_total: Decimal
    warnings: list[str]       # the draft's calculation warnings

    @property
    def difference(self) -> Decimal:
        return self.draft_total - self.current_total


def last_month(tenant: Tenant) -> dt.date:
    """The first day of last month (tenant time zone)."""
    return (tenant_today(tenant).replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def commission_rules_preview(*, tenant: Tenant, actor: Staff | None, rules,
                             month: dt.date | None = None) -> Preview:
    """What `month` (default last month) would have paid each person under the draft `rules`
    (a dict or its JSON text), next to what the rules in force pay; nothing is saved.
    Administrators (it is part of writing a version). A draft that is not valid: a field error
    on "rules", as commission_rule_set_create gives it."""
    with tenant_context(tenant):
        _require_admin(actor, _("Only administrators may change the commission rules."))
        errors: dict = {}
        data = rules_data(rules, preset="", presets=PRESETS, errors=errors)
        parsed = _validated(tenant, data, errors) if data is not None else None
        if errors:
            raise ValidationError(errors)
        month = (month or last_month(tenant)).replace(day=1)
        inputs = month_inputs(tenant, month).inputs  # the month's facts, read once
        draft = calculate(inputs, RuleBook.single(parsed))
        # The rules in force: every version by its day, as settlement_calculate applies them.
        current = calculate(inputs, rule_book_for(tenant))
        totals = {p.staff_id: [p.total, Decimal("0.00")] for p in current.people}
        for p in draft.people:
            totals.setdefault(p.staff_id, [Decimal("0.00"), Decimal("0.00")])[1] = p.total
        totals = {pk: pair for pk, pair in totals.items() if pair[0] or pair[1]}
        people = {s.pk: s for s in Staff.objects.filter(pk__in=totals).select_related("team")}
    rows = [PreviewRow(staff_id=pk, name=people[pk].name if pk in people else str(pk),
                       team=people[pk].team.name if pk in people and people[pk].team else "",
                       current=cur, draft=new)
            for pk, (cur, new) in totals.items()]
    rows.sort(key=lambda r: (r.name, r.staff_id))
    return Preview(month=month, rules=parsed, rows=rows,
                   current_total=sum((r.current for r in rows), Decimal("0.00")),
                   draft_total=sum((r.draft for r in rows), Decimal("0.00")),
                   warnings=list(draft.warnings))


# --------------------------------------------------------------------------- settings

def commission_settings_for(tenant: Tenant) -> CommissionSettings:
    """The tenant's settlement settings (created with the defaults on first use; safe when two
    requests create it at once)."""
    with tenant_context(tenant):
        found = CommissionSettings.objects.select_related("updated_by").first()
        if found is not None:
            return found
        try:
            with transaction.atomic():
                return CommissionSettings.objects.create(tenant=tenant)
        except IntegrityError:
            return CommissionSettings.objects.select_related("updated_by").get()


@transaction.atomic
def commission_settings_update(*, tenant: Tenant, actor: Staff | None,
                               calculation_day) -> CommissionSettings:
    """Set the day of the month last month is calculated on (1–28; administrators). Audited
    as commissions.settings.update when it changes."""
    with tenant_context(tenant):
        _require_admin(actor, _("Only administrators may change the commission settings."))
        try:
            day = int(calculation_day)
            if not CALCULATION_DAY_MIN <= day <= CALCULATION_DAY_MAX:
                raise ValueError
        except (TypeError, ValueError):
            raise ValidationError({"calculation_day": [
                _("Pick a day from %(min)s to %(max)s.") % {
                    "min": CALCULATION_DAY_MIN, "max": CALCULATION_DAY_MAX}]}) from None
        row = CommissionSettings.objects.select_for_update().get(
            pk=commission_settings_for(tenant).pk)
        changes = diff(row, {"calculation_day": day})
        if changes:
            row.calculation_day = day
            row.updated_by = actor
            row.save(update_fields=["calculation_day", "updated_by", "updated_at"])
            audit_record(tenant=tenant, actor=actor, action="commissions.settings.update",
                         target=row, changes=changes)
        return row
