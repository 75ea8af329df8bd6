"""The tenant's tier scheme versions (会员等级方案): the service that writes them and the selectors
that read them (apps.commissions.rulesets is the model).

* A scheme is a version (apps.core.versioning): numbered max + 1 under a per-tenant advisory
  lock (LOCK_TIER_SCHEME), in force from a day (today or later in the tenant's time zone, one
  per day), never edited. Its data is validated by apps.vip.tiers (every problem listed in the
  site language as field errors on "rules"). Administrators write; administrators, managers,
  customer service and finance read.
* Saving a version that takes effect today starts the re-evaluation of every customer under it
  once the transaction commits (apps.vip.tasks.recompute_start); a version of a later day is
  picked up by the daily beat job `vip.recompute_due` on its day.
* Before the first saved version the "default" preset (银卡/金卡/钻石卡) is in force as version 0
  (apps.vip.services.scheme_for).
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
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Staff, Tenant
from apps.tenancy.roles import Role

from .models import TierScheme
from .tiers import (
    PRESET_NAMES,
    PRESETS,
    TierRules,
    describe_tier_errors,
    describe_tier_rules,
    parse_tier_rules,
)

#: pg_advisory_xact_lock(job, tenant) key serialising the numbering of tier scheme versions.
LOCK_TIER_SCHEME = 7001

#: Who may read the tier schemes and the re-evaluation's progress (administrators also write).
VIEW_ROLES = (Role.ADMIN, Role.MANAGER, Role.CUSTOMER_SERVICE, Role.FINANCE)
#: Who may add a version or start a re-evaluation by hand.
WRITE_ROLES = (Role.ADMIN,)
#: The preset in force before the first saved version.
FALLBACK_PRESET = "default"


def _require_admin(actor: Staff | None, message: str) -> None:
    if actor is not None and not actor.is_admin:
        raise PermissionDenied(message)


@transaction.atomic
def tier_scheme_create(*, tenant: Tenant, actor: Staff | None, effective_from: dt.date | None,
                       name: str, rules: dict | str | None = None, preset: str = "",
                       note: str = "", start_recompute: bool = True) -> TierScheme:
    """Add a version of the tenant's tier scheme (administrators; `actor=None`: the system).

    `rules` is the data (a dict or its JSON text; format: apps.vip.tiers); without it the
    `preset` ("default") is copied. Refusals are field errors: "rules" lists every problem in
    the site language (overlapping or non-increasing thresholds, …), "effective_from" must be
    today or later and free, "preset" known, "name" given. A version in force from today
    starts the re-evaluation of every customer when the transaction commits (unless
    `start_recompute` is False: the caller re-evaluates itself, as the bench does)."""
    with tenant_context(tenant):
        _require_admin(actor, _("Only administrators may change the tier scheme."))
        today = tenant_today(tenant)
        row, _parsed = rules_version_save(
            TierScheme, tenant=tenant, actor=actor, lock=LOCK_TIER_SCHEME, today=today,
            effective_from=effective_from, name=name, note=note, preset=preset,
            presets=PRESETS, rules=rules,
            past_message=_("The scheme cannot take effect in the past: pick today or a later "
                           "day."),
            parse=parse_tier_rules, describe_errors=describe_tier_errors, cache=_CACHE,
            action="vip.tier_scheme.create")
        if start_recompute and effective_from == today:
            tenant_id, version, actor_id = tenant.pk, row.version, getattr(actor, "pk", None)
            transaction.on_commit(lambda: _start_after_commit(tenant_id, version, actor_id))
        return row


def _start_after_commit(tenant_id: int, version: int, actor_id: int | None) -> None:
    from .tasks import recompute_start

    recompute_start(Tenant.objects.get(pk=tenant_id), version=version, actor_id=actor_id,
                    force=True)


# --------------------------------------------------------------------------- reading

_CACHE = ParsedCache()
_DEFAULT = parse_tier_rules(PRESETS[FALLBACK_PRESET])


def tier_preset_rules(preset: str) -> TierRules:
    return _DEFAULT if preset == FALLBACK_PRESET else parse_tier_rules(PRESETS[preset])


def tier_scheme_cached(tenant_id: int, version: int) -> TierRules | None:
    """A version's rules if this process parsed them already (versions are never edited)."""
    return _CACHE.get((tenant_id, version))


def tier_scheme_parsed(row: TierScheme) -> TierRules | None:
    """The row's rules parsed (cached per process by tenant and version), or None if the
    stored data is not valid (only possible when written around tier_scheme_create)."""
    return _CACHE.parsed(row, parse_tier_rules)


def tier_schemes_overview(tenant: Tenant, today: dt.date | None = None) -> dict:
    """What the schemes page shows (apps.core.versioning.versions_overview): the version in
    force (or the default preset) described tier by tier, the scheduled versions, every
    version."""
    return versions_overview(tenant=tenant, model=TierScheme,
                             today=today or tenant_today(tenant), parse=tier_scheme_parsed,
                             preset_rules=tier_preset_rules, fallback_preset=FALLBACK_PRESET,
                             preset_name=gettext_lazy(PRESET_NAMES[FALLBACK_PRESET]),
                             describe=describe_tier_rules)


def tier_scheme_detail(row: TierScheme) -> dict:
    """A version made readable: its tiers as sentences and the JSON as stored."""
    return version_detail(row, parse=tier_scheme_parsed, describe=describe_tier_rules)


def tier_scheme_in_force(tenant: Tenant, day: dt.date | None = None) -> TierScheme | None:
    """The version in force on `day` (default the tenant's today); None: the preset applies."""
    day = day or tenant_today(tenant)
    with tenant_context(tenant):
        return (TierScheme.objects.filter(effective_from__lte=day)
                .order_by("-effective_from", "-version").first())


def tier_scheme_in_force_pk(tenant: Tenant, day: dt.date | None = None) -> int | None:
    row = tier_scheme_in_force(tenant, day)
    return row.pk if row is not None else None


def tier_scheme_by_version(tenant: Tenant, version: int) -> TierScheme | None:
    with tenant_context(tenant):
        return TierScheme.objects.filter(version=version).first()


def tier_preset_json(preset: str) -> str:
    """A preset as the JSON text the "new version" form starts from."""
    return json.dumps(PRESETS[preset], ensure_ascii=False, indent=2)
