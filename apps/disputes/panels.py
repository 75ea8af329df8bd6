"""The disputes panel of the home page (registered in settings.HOME_PANELS)."""

from __future__ import annotations

from apps.tenancy.models import Staff

from .selectors import judge_queue

PANEL_ROWS = 8


def dispute_queue_panel(staff: Staff) -> dict | None:
    """For managers (open and proposed disputes of their team) and administrators (escalated
    and all open ones): how many wait, and the oldest first; None for anyone else."""
    queue = judge_queue(staff)
    if queue is None:
        return None
    rows = list(queue.select_related("customer", "owner", "claimant")
                .order_by("opened_at", "id")[:PANEL_ROWS])
    count = len(rows) if len(rows) < PANEL_ROWS else queue.count()
    return {"template": "disputes/_home_panel.html", "count": count, "rows": rows}
