"""Background re-evaluation of every customer's tier (apps.vip.recompute) and its daily job.

* `recompute_start(tenant, version=, actor_id=, force=)` — what saving a version in force today,
  the administrators' "re-evaluate now" button, the API and the daily job call: starts the task
  unless a run is going on (a state that has not moved for STALE_SECONDS — a worker killed
  mid-run — starts again); returns the progress. Without `force` it starts only a version not
  re-evaluated yet (`TierScheme.recomputed_at` empty). A request for another version while one
  runs is remembered (`next_key`) and started when the running one finishes.
* Progress lives in a Redis key (the Django cache; Celery keeps no results here):
  `progress_key(tenant_id)` → {"state": queued|running|done|failed, "version", "current",
  "total", "at", "summary"}, written by the task after each chunk and read by the page's htmx
  poll and the API. The database stays the truth: finished chunks are committed, a run again
  changes nothing that is already right, and `recomputed_at` marks a finished version.
* `recompute_tiers` (task "vip.recompute_tiers") is a plain task — not `tenant_task`, whose
  body is one transaction: each chunk commits on its own so a killed worker leaves finished
  chunks done (acks_late: the message is delivered again and the run resumes idempotently).
  Two runs of one tenant never overlap (advisory lock in tiers_recompute_all): the second
  returns at once.
* `recompute_due` (task "vip.recompute_due", per tenant through `tenancy.fan_out`, daily):
  starts the re-evaluation of the version in force today if it has not been done.
"""

from __future__ import annotations

import time

from celery import shared_task
from django.core.cache import cache

from apps.core.outbox import enqueue_on_commit
from apps.ownership.selectors import tenant_today
from apps.tenancy.models import Tenant
from apps.tenancy.tasks import tenant_task

from .recompute import recompute_due_version, tiers_recompute_all
from .schemes import tier_scheme_by_version, tier_scheme_in_force

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
PROGRESS_TTL = 7 * 24 * 3600
STALE_SECONDS = 10 * 60


def progress_key(tenant_id: int) -> str:
    return f"vip:recompute:{tenant_id}"


def next_key(tenant_id: int) -> str:
    return f"vip:recompute:{tenant_id}:next"


def _state(state: str, version: int, current: int = 0, total: int = 0,
           summary: dict | None = None) -> dict:
    return {"state": state, "version": version, "current": current, "total": total,
            "at": time.time(), "summary": summary or {}}


def is_running(progress: dict) -> bool:
    """Queued or running, and moved within STALE_SECONDS."""
    return (progress.get("state") in (QUEUED, RUNNING)
            and time.time() - progress.get("at", 0) < STALE_SECONDS)


def recompute_progress(tenant: Tenant) -> dict:
    """The state of the tenant's last or current re-evaluation ({"state": ""}: none known),
    with "percent" and "running"."""
    found = cache.get(progress_key(tenant.pk)) or _state("", 0)
    total = found.get("total") or 0
    percent = int(found.get("current", 0) * 100 / total) if total else 0
    if found.get("state") == DONE:
        percent = 100
    return {**found, "percent": min(percent, 100), "running": is_running(found)}


def _version_in_force(tenant: Tenant) -> int:
    row = tier_scheme_in_force(tenant)
    return row.version if row is not None else 0


def recompute_start(tenant: Tenant, *, version: int | None = None, actor_id: int | None = None,
                    force: bool = False) -> dict:
    """Start the re-evaluation of every customer under `version` (default: the version in
    force today) unless one is running; returns the progress. See the module docstring."""
    version = _version_in_force(tenant) if version is None else version
    if not force:
        row = tier_scheme_by_version(tenant, version) if version else None
        if row is None or row.recomputed_at is not None:
            return recompute_progress(tenant)
    key = progress_key(tenant.pk)
    current = cache.get(key) or {}
    if is_running(current):
        if current.get("version") != version:
            cache.set(next_key(tenant.pk), version, PROGRESS_TTL)
        return recompute_progress(tenant)
    queued = _state(QUEUED, version)
    if not current:
        if not cache.add(key, queued, PROGRESS_TTL):  # someone else started it just now
            return recompute_progress(tenant)
    else:  # a finished, failed or stale run's state
        cache.set(key, queued, PROGRESS_TTL)
    enqueue_on_commit(recompute_tiers.name, tenant.pk, version, actor_id)
    return recompute_progress(tenant)


@shared_task(name="vip.recompute_tiers", acks_late=True, reject_on_worker_lost=True)
def recompute_tiers(tenant_id: int, version: int, requested_by_id: int | None = None) -> dict:
    """Re-evaluate every customer of the tenant under `version`, reporting progress; returns
    the summary (busy: another run holds the tenant, nothing done)."""
    tenant = Tenant.objects.get(pk=tenant_id)
    key = progress_key(tenant_id)

    def report(current: int, total: int) -> None:
        cache.set(key, _state(RUNNING, version, current, total), PROGRESS_TTL)

    try:
        summary = tiers_recompute_all(tenant, scheme_version=version, progress=report)
    except BaseException:
        cache.set(key, _state(FAILED, version), PROGRESS_TTL)
        raise
    if summary.busy:
        return summary.as_dict()
    cache.set(key, _state(DONE, version, summary.customers, summary.customers,
                          summary.as_dict()), PROGRESS_TTL)
    waiting = cache.get(next_key(tenant_id))
    if waiting is not None:
        cache.delete(next_key(tenant_id))
        if waiting != version:
            recompute_start(tenant, version=waiting, actor_id=requested_by_id, force=True)
    return summary.as_dict()


@tenant_task(name="vip.recompute_due")
def recompute_due(tenant_id: int) -> int:
    """Daily: start the re-evaluation of the version in force today unless it was done or is
    running. Returns the version started or joined (0: nothing to do)."""
    tenant = Tenant.objects.get(pk=tenant_id)
    row = recompute_due_version(tenant, tenant_today(tenant))
    if row is None:
        return 0
    recompute_start(tenant, version=row.version)
    return row.version
