from decimal import Decimal

from django.db import models

from .models import AuditEntry


def _jsonable(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def audit_record(*, tenant, actor, action: str, target: models.Model, changes: dict | None = None,
                 reason: str = "") -> AuditEntry:
    """Write one audit row; call it inside the service's transaction."""
    return AuditEntry.objects.create(
        tenant=tenant, actor=actor, action=action, target_type=target._meta.label_lower,
        target_id=target.pk, reason=reason,
        changes={k: _jsonable(v) for k, v in (changes or {}).items()})


def history_of(target: models.Model, *, limit: int = 100) -> list[AuditEntry]:
    """The audit rows about `target`, newest first (with who did it)."""
    return list(AuditEntry.objects.filter(target_type=target._meta.label_lower, target_id=target.pk)
                .select_related("actor").order_by("-at", "-id")[:limit])


def diff(instance: models.Model, data: dict) -> dict:
    """{field: [old, new]} for the fields in `data` whose value changes."""
    out = {}
    for field, new in data.items():
        old = getattr(instance, field)
        if old != new:
            out[field] = [_jsonable(old), _jsonable(new)]
    return out


def history_rows(entries, *, action_labels: dict, label, show, skip=()) -> list[dict]:
    """Audit entries made readable for a history list:
    ``[{"entry", "action", "lines": [{"label", "old", "new"}]}]``.

    `label(field)` and `show(field, value)` turn the stored keys, ids and codes into what the
    page shows. An update stores each changed field as ``[old, new]`` (see `diff`); a creation
    (an action ending in ``.create``) stores the values it set, so its lines have no `old`."""
    def display(field, value):
        return "—" if value in (None, "", []) else show(field, value)

    rows = []
    for entry in entries:
        lines = []
        for field, value in entry.changes.items():
            if field in skip:
                continue
            pair = (not entry.action.endswith(".create") and isinstance(value, list)
                    and len(value) == 2)
            old, new = value if pair else (None, value)
            lines.append({"label": label(field), "old": display(field, old) if pair else None,
                          "new": display(field, new)})
        rows.append({"entry": entry, "action": action_labels.get(entry.action, entry.action),
                     "lines": lines})
    return rows
