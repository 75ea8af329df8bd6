"""Periodic follow-up jobs, each inside one tenant's context (apps.tenancy.tasks); the beat
entries fan them out per tenant through `tenancy.fan_out`."""

from __future__ import annotations

from apps.tenancy.tasks import tenant_task

from . import generation, reminders


@tenant_task(name="followups.generate")
def generate(tenant_id: int) -> int:
    """The daily generation (idempotent): returns how many tasks it created."""
    return generation.generate(tenant_id).total


@tenant_task(name="followups.remind")
def remind(tenant_id: int) -> dict:
    """Overdue follow-ups: reminders, escalations and penalties, each once per task."""
    return reminders.remind(tenant_id)
