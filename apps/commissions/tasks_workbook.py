"""Building a large month's workbook in the background (apps.commissions.workbook).

`workbook_request(settlement, actor)` — what the page and the API call for a month over
WORKBOOK_DIRECT_MAX_LINES lines: the built file when it is there, otherwise it starts the task
or joins the one running, and returns the progress.

Progress lives in a Redis key (the Django cache; Celery keeps no results here,
CELERY_RESULT_BACKEND is None): `progress_key(tenant_id, settlement_id)` →
{"state": queued|running|done|failed, "current", "total", "fingerprint", "at"}, written by the
task every apps.commissions.workbook.CHUNK lines and read by the page's htmx poll. A state that
has not moved for STALE_SECONDS (a worker killed mid-build) is started again. The file itself
is the truth: `workbook_path(settlement, fingerprint)` exists once the build finished (written
under a temporary name, then renamed), so a lost key never loses a built file.

The task notifies the requester when the file is ready (apps.notifications.services.notify).
"""

from __future__ import annotations

import os
import time
import uuid

from django.core.cache import cache
from django.urls import reverse
from django.utils.translation import gettext_lazy

from apps.core.i18n import lazy_format
from apps.core.outbox import enqueue_on_commit
from apps.notifications.models import Notification
from apps.notifications.services import notify
from apps.tenancy.models import Staff
from apps.tenancy.tasks import tenant_task

from .models import Settlement
from .workbook import line_stats, workbook_fingerprint, workbook_path, workbook_write

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
PROGRESS_TTL = 24 * 3600
STALE_SECONDS = 10 * 60


def progress_key(tenant_id: int, settlement_id: int) -> str:
    return f"commissions:workbook:{tenant_id}:{settlement_id}"


def _state(state: str, fingerprint: str, current: int = 0, total: int = 0) -> dict:
    return {"state": state, "current": current, "total": total, "fingerprint": fingerprint,
            "at": time.time()}


def workbook_progress(settlement: Settlement, stats: tuple[int, int] | None = None) -> dict:
    """The state of the current build of `settlement` (done when its file exists)."""
    stats = stats if stats is not None else line_stats(settlement)
    fingerprint = workbook_fingerprint(settlement, stats)
    if workbook_path(settlement, fingerprint).exists():
        return _state(DONE, fingerprint, stats[0], stats[0])
    found = cache.get(progress_key(settlement.tenant_id, settlement.pk))
    if found and found.get("fingerprint") == fingerprint and found["state"] != DONE:
        return found
    return _state("", fingerprint, 0, stats[0])


def workbook_request(settlement: Settlement, actor: Staff,
                     stats: tuple[int, int] | None = None) -> dict:
    """Start the build of `settlement`'s workbook unless it is built or being built (a stale
    or failed build starts again); returns the progress (state done: the file is there)."""
    stats = stats if stats is not None else line_stats(settlement)
    current = workbook_progress(settlement, stats)
    if current["state"] == DONE:
        return current
    running = current["state"] in (QUEUED, RUNNING)
    if running and time.time() - current["at"] < STALE_SECONDS:
        return current
    key = progress_key(settlement.tenant_id, settlement.pk)
    queued = _state(QUEUED, current["fingerprint"], 0, stats[0])
    if cache.get(key) is None:
        if not cache.add(key, queued, PROGRESS_TTL):  # someone else started it just now
            other = cache.get(key)
            if other and other.get("fingerprint") == queued["fingerprint"]:
                return other
            cache.set(key, queued, PROGRESS_TTL)
    else:  # a stale, failed or older build's state
        cache.set(key, queued, PROGRESS_TTL)
    enqueue_on_commit(build_workbook.name, settlement.tenant_id, settlement.pk, actor.pk)
    return cache.get(key) or queued


@tenant_task(name="commissions.build_workbook")
def build_workbook(tenant_id: int, settlement_id: int, requested_by_id: int | None) -> str:
    """Build the workbook of the settlement into its private path (nothing to do when that
    file exists), report progress, notify the requester. Returns the path."""
    settlement = Settlement.objects.filter(pk=settlement_id).first()
    if settlement is None:
        return ""
    stats = line_stats(settlement)
    fingerprint = workbook_fingerprint(settlement, stats)
    path = workbook_path(settlement, fingerprint)
    key = progress_key(tenant_id, settlement_id)

    def report(current: int, total: int) -> None:
        cache.set(key, _state(RUNNING, fingerprint, current, total), PROGRESS_TTL)

    if not path.exists():
        report(0, stats[0])
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_name(f"{path.name}.{uuid.uuid4().hex}.part")
        try:
            workbook_write(settlement, part, total_lines=stats[0], progress=report)
            os.replace(part, path)
        except BaseException:
            cache.set(key, _state(FAILED, fingerprint, 0, stats[0]), PROGRESS_TTL)
            part.unlink(missing_ok=True)
            raise
    cache.set(key, _state(DONE, fingerprint, stats[0], stats[0]), PROGRESS_TTL)
    requester = Staff.objects.filter(pk=requested_by_id).first() if requested_by_id else None
    month = f"{settlement.month:%Y-%m}"
    notify(tenant=settlement.tenant, recipients=[requester], kind=Notification.Kind.COMMISSION,
           title=lazy_format(gettext_lazy("The commission workbook of %(month)s is ready"),
                             {"month": month}),
           url=reverse("commissions:workbook", kwargs={"pk": settlement.pk}), target=settlement)
    return str(path)
