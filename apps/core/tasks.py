"""Core's Celery tasks: the outbox relay (apps.core.outbox)."""

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from .models import OutboxMessage
from .outbox import relay_pending

KEEP_SENT = timedelta(days=7)


@shared_task(name="core.relay_outbox", acks_late=True, reject_on_worker_lost=True)
def relay_outbox() -> int:
    """Beat, every minute: send the outbox messages whose commit-time attempt failed."""
    OutboxMessage.objects.filter(sent_at__lt=timezone.now() - KEEP_SENT).delete()
    return relay_pending()
