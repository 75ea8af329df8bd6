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
    return value


def audit_record(*, tenant, actor, action: str, target: models.Model, changes: dict | None = None,
                 reason: str = "") -> AuditEntry:
    """Write one audit row; call it inside the service's transaction."""
    return AuditEntry.objects.create(
        tenant=tenant, actor=actor, action=action, target_type=target._meta.label_lower,
        target_id=target.pk, reason=reason,
        changes={k: _jsonable(v) for k, v in (changes or {}).items()})


def diff(instance: models.Model, data: dict) -> dict:
    """{field: [old, new]} for the fields in `data` whose value changes."""
    out = {}
    for field, new in data.items():
        old = getattr(instance, field)
        if old != new:
            out[field] = [_jsonable(old), _jsonable(new)]
    return out
