"""The transactional outbox: Celery work that must not be lost when Redis (the broker) is down.

    from apps.core.outbox import enqueue_on_commit
    enqueue_on_commit("exports.build_export", tenant.pk, job.pk)   # inside the writing transaction

instead of `transaction.on_commit(lambda: build_export.delay(tenant.pk, job.pk))`: the message is
a row (OutboxMessage) written in the caller's transaction, so it exists exactly when the write
committed. Right after the commit one attempt sends it; if the broker cannot be reached the row
stays pending (a warning is logged, the request goes on) and the relay (`core.relay_outbox`,
every minute from beat) sends it when Redis is back.

Each row is sent once: the sender marks it with a conditional UPDATE (`sent_at IS NULL`) and
publishes inside the same transaction; a second sender (the relay while the commit attempt runs,
a second beat process) waits for that row and then finds it sent. A publish that fails rolls
the mark back. Only a crash between the publish and the commit sends it again -- tasks are
idempotent (house rule), so that is harmless.
"""

from __future__ import annotations

import contextlib
import logging

from celery import current_app
from django.db import connection as db_connection
from django.db import transaction

from .models import OutboxMessage

logger = logging.getLogger(__name__)

RELAY_BATCH = 500
BROKER_TIMEOUT = 2  # seconds to connect to the broker


def enqueue_on_commit(task_name: str, *args, queue: str | None = None,
                      **kwargs) -> OutboxMessage:
    """Record `task_name(*args, **kwargs)` in the current transaction; send it after the
    commit (now, or by the relay once the broker answers). Arguments must be JSON (ids)."""
    message = OutboxMessage.objects.create(task=task_name, args=list(args), kwargs=kwargs,
                                           options={"queue": queue} if queue else {})
    transaction.on_commit(lambda: deliver(message.pk))
    return message


def deliver(pk: int, connection=None) -> bool:
    """Send one pending message; True if this call sent it. A broker that cannot be reached
    is logged and leaves the message pending (never raised: this runs after a commit).
    `connection`: a broker connection to reuse (the relay's), else one of its own."""
    eager = current_app.conf.task_always_eager  # unit tests: run it here, as .delay does
    try:
        with contextlib.ExitStack() as stack:
            if connection is None and not eager:
                connection = stack.enter_context(_broker_connection())
            with transaction.atomic(), db_connection.cursor() as cur:
                cur.execute("UPDATE core_outboxmessage SET sent_at = now() "
                            "WHERE id = %s AND sent_at IS NULL "
                            "RETURNING task, args, kwargs, options", [pk])
                row = cur.fetchone()
                if row is None:
                    return False  # sent already (by the relay or the commit's own attempt)
                task, args, kwargs, options = row
                args, kwargs = _json(args, list), _json(kwargs, dict)
                if eager:
                    current_app.tasks[task].apply(args=args, kwargs=kwargs, throw=True)
                else:
                    current_app.send_task(task, args=args, kwargs=kwargs, connection=connection,
                                          retry=False, **_json(options, dict))
    except Exception as exc:  # noqa: BLE001 - the broker's errors vary by transport
        if eager:
            raise  # a unit test's task failed: show it, as .delay does
        logger.warning("Outbox message %s not sent yet (%s: %s); the relay will retry",
                       pk, type(exc).__name__, exc)
        return False
    return True


@contextlib.contextmanager
def _broker_connection():
    """A broker connection, made once without retrying: with the broker down kombu would
    otherwise retry for seconds, after the commit of a user's request."""
    with current_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0,
                               timeout=BROKER_TIMEOUT)
        yield conn


def relay_pending(limit: int = RELAY_BATCH) -> int:
    """Send what is still pending, oldest first; stop at the first failure (the broker is
    down: the next run tries again). Returns how many this call sent."""
    pending = list(OutboxMessage.objects.filter(sent_at__isnull=True)
                   .order_by("created_at", "pk").values_list("pk", flat=True)[:limit])
    if not pending:
        return 0
    sent = 0
    try:
        with _broker_connection() as conn:
            for pk in pending:
                if deliver(pk, conn):
                    sent += 1
                elif OutboxMessage.objects.filter(pk=pk, sent_at__isnull=True).exists():
                    break
    except Exception as exc:  # noqa: BLE001 - the broker's errors vary by transport
        logger.warning("Outbox relay: broker unreachable (%s: %s); %s messages wait",
                       type(exc).__name__, exc, len(pending))
    return sent


def _json(value, kind):
    if isinstance(value, str):  # a cursor without the JSON loader returns the text
        import json

        value = json.loads(value)
    return kind(value or kind())
