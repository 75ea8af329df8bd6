"""Effective-dated, numbered versions of a tenant's rules (credit rule sets, reward policies,
ownership policies): the checks and the write they share.

A version takes effect on a day (today or later in the tenant's time zone, one version per day),
is numbered max + 1 under a per-tenant advisory lock and is never edited. The services call,
inside `tenant_context(tenant)` and a transaction:

    draft = version_draft(tenant=..., lock=..., model=..., today=tenant_today(tenant), ...)
    ... more checks into draft.errors ...
    if draft.errors: raise ValidationError(draft.errors)
    row = version_create(model, tenant=..., effective_from=..., **fields)
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from threading import Lock
from typing import Any

import pydantic
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Model
from django.utils.translation import gettext as _

NAME_MAX = 100
NOTE_MAX = 200
RULES_TEXT_MAX = 20_000


def advisory_lock(job: int, tenant) -> None:
    """pg_advisory_xact_lock(job, tenant): serialises `job` for the tenant until the end of the
    transaction."""
    with connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", [job, int(tenant.pk)])


def day_taken_message(day: dt.date) -> str:
    return _("A version already takes effect on %(day)s: pick another day.") % {
        "day": day.isoformat()}


def check_effective_from(*, model: type[Model], effective_from: dt.date | None, today: dt.date,
                         past_message: str, errors: dict) -> None:
    """errors["effective_from"] when it is missing, before `today` (the tenant's day; the
    caller's translated `past_message`) or already taken by a version (in the tenant context)."""
    if not isinstance(effective_from, dt.date):
        errors["effective_from"] = [_("This field is required.")]
    elif effective_from < today:
        errors["effective_from"] = [past_message]
    elif model.objects.filter(effective_from=effective_from).exists():
        errors["effective_from"] = [day_taken_message(effective_from)]


def rules_data(rules: Any, *, preset: str, presets: Mapping[str, Any], errors: dict,
               text_max: int = RULES_TEXT_MAX) -> Any:
    """The rules as data: from `rules` (JSON text; anything else but None is returned as it
    is) or else a copy of `presets[preset]`. None (with errors["rules"] where fitting) when
    there is nothing to parse."""
    if isinstance(rules, str):
        text = rules.strip()
        if not text:
            rules = None
        elif len(text) > text_max:
            errors["rules"] = [_("At most %(max)s characters.") % {"max": text_max}]
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
            return copy.deepcopy(presets[preset]) if preset in presets else None
        errors["rules"] = [_("Pick a preset or enter the rules.")]
        return None
    return rules


@dataclass
class VersionDraft:
    """The cleaned common fields of a new version, the rules data to parse (None: nothing to
    parse) and the field errors so far (the caller adds its own, then raises if any)."""
    name: str
    note: str
    preset: str
    data: Any
    errors: dict = field(default_factory=dict)


def version_draft(*, tenant, lock: int, model: type[Model], effective_from: dt.date | None,
                  today: dt.date, name: str, note: str, preset: str, presets: Mapping[str, Any],
                  rules: Any, past_message: str) -> VersionDraft:
    """Take the tenant's advisory lock `lock` (held to the end of the transaction), then check
    the fields every JSON rule version has: "preset" known, "name" required (≤ NAME_MAX), "note"
    ≤ NOTE_MAX, "effective_from" (check_effective_from) and the rules data (rules_data)."""
    advisory_lock(lock, tenant)
    errors: dict = {}
    preset = (preset or "").strip()
    if preset and preset not in presets:
        errors["preset"] = [_("Unknown preset “%(preset)s”.") % {"preset": preset}]
    name = (name or "").strip()
    if not name:
        errors["name"] = [_("This field is required.")]
    elif len(name) > NAME_MAX:
        errors["name"] = [_("At most %(max)s characters.") % {"max": NAME_MAX}]
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        errors["note"] = [_("At most %(max)s characters.") % {"max": NOTE_MAX}]
    check_effective_from(model=model, effective_from=effective_from, today=today,
                         past_message=past_message, errors=errors)
    data = rules_data(rules, preset=preset if "preset" not in errors else "", presets=presets,
                      errors=errors)
    return VersionDraft(name=name, note=note, preset=preset, data=data, errors=errors)


def version_create(model: type[Model], *, tenant, effective_from: dt.date, **fields) -> Model:
    """Create the next version (max + 1; call under the advisory lock). A version already on
    that day (written around the lock) → ValidationError on "effective_from"."""
    version = (model.objects.aggregate(v=Max("version"))["v"] or 0) + 1
    try:
        with transaction.atomic():
            return model.objects.create(tenant=tenant, version=version,
                                        effective_from=effective_from, **fields)
    except IntegrityError:
        raise ValidationError({"effective_from": [day_taken_message(effective_from)]}) from None


def rules_version_save(model: type[Model], *, tenant, actor, lock: int, today: dt.date,
                       effective_from: dt.date | None, name: str, note: str, preset: str,
                       presets: Mapping[str, Any], rules: Any, past_message: str, parse,
                       describe_errors, cache: ParsedCache, action: str):
    """The whole write of a JSON rules version whose data is a pydantic model (`parse(data)`
    raises pydantic.ValidationError, `describe_errors(exc)` gives the messages for "rules"):
    the common checks (version_draft), the rules, the row (version_create), the audit entry
    and the parsed rules cached. Call inside the tenant's transaction; returns (row, parsed)."""
    from apps.core.audit import audit_record

    draft = version_draft(tenant=tenant, lock=lock, model=model, effective_from=effective_from,
                          today=today, name=name, note=note, preset=preset, presets=presets,
                          rules=rules, past_message=past_message)
    errors = draft.errors
    parsed = None
    if draft.data is not None:
        try:
            parsed = parse(draft.data)
        except pydantic.ValidationError as exc:
            errors["rules"] = describe_errors(exc)
    if errors:
        raise ValidationError(errors)
    row = version_create(model, tenant=tenant, effective_from=effective_from, name=draft.name,
                         preset=draft.preset, rules=parsed.as_data(), note=draft.note,
                         created_by=actor)
    audit_record(tenant=tenant, actor=actor, action=action, target=row,
                 changes={"version": row.version, "effective_from": effective_from,
                          "name": draft.name, "preset": draft.preset},
                 reason=draft.note)
    cache.put((row.tenant_id, row.version), parsed)
    return row, parsed


class ParsedCache:
    """Parsed rule sets by (row id, version): rows are never edited, so entries never go stale.
    Bounded (least recently used out); shared by the threads of the process."""

    def __init__(self, size: int = 512):
        self.size = size
        self.data: OrderedDict = OrderedDict()
        self.lock = Lock()

    def get(self, key):
        with self.lock:
            value = self.data.get(key)
            if value is not None:
                self.data.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        with self.lock:
            self.data[key] = value
            self.data.move_to_end(key)
            while len(self.data) > self.size:
                self.data.popitem(last=False)

    def parsed(self, row, parse):
        """The rules of a version row parsed (once per process: rows are never edited), or
        None if its stored data is not valid (only possible when written around the
        service)."""
        key = (row.tenant_id, row.version)
        value = self.get(key)
        if value is None:
            try:
                value = parse(row.rules)
            except pydantic.ValidationError:
                return None
            self.put(key, value)
        return value


def versions_overview(*, tenant, model: type[Model], today: dt.date, parse, preset_rules,
                      fallback_preset: str, preset_name, describe) -> dict:
    """What a rules list page shows: the version in force on `today` (or the preset used
    instead) with its rules described, the scheduled versions and every version, newest first.
    `parse(row)` gives the parsed rules or None, `preset_rules(name)` a preset's, `describe`
    the sentences of parsed rules."""
    from apps.tenancy.context import tenant_context

    with tenant_context(tenant):
        rows = list(model.objects.select_related("created_by")
                    .order_by("-effective_from", "-version"))
    current = next((r for r in rows if r.effective_from <= today), None)
    scheduled = sorted((r for r in rows if r.effective_from > today),
                       key=lambda r: r.effective_from)
    rules = parse(current) if current is not None else None
    if rules is None:
        rules = preset_rules(fallback_preset)
    return {"today": today, "current": current, "scheduled": scheduled, "history": rows,
            "rules": rules, "described": describe(rules), "fallback_preset": fallback_preset,
            "fallback_preset_name": preset_name}


def version_detail(row, *, parse, describe) -> dict:
    """A version made readable: its rules described (None when the stored data is not valid)
    and the JSON as stored."""
    parsed = parse(row)
    return {"row": row, "rules": parsed,
            "described": describe(parsed) if parsed is not None else None,
            "json": json.dumps(row.rules, ensure_ascii=False, indent=2)}
