"""Sending in-app notifications. Modules call `notify` inside their own transaction, so a
notification exists exactly when the decision it reports was committed."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from apps.tenancy.context import tenant_context
from apps.tenancy.models import Staff, Tenant

from .models import Notification


def _language_of(staff: Staff) -> str | None:
    return getattr(staff.user, "language", "") or None


@transaction.atomic
def notify(*, tenant: Tenant, recipients: Iterable[Staff | None], kind: str, title, body="",
           url: str = "", target: models.Model | None = None,
           exclude: Staff | None = None) -> list[Notification]:
    """One notification per distinct recipient (None and `exclude`, usually the actor, skipped).

    `title` and `body` may be lazy translations: each is rendered in the recipient's language."""
    seen: set[int] = set()
    rows = []
    now = timezone.now()
    with tenant_context(tenant):
        for staff in recipients:
            if staff is None or staff.pk in seen or (exclude is not None and staff.pk == exclude.pk):
                continue
            seen.add(staff.pk)
            with translation.override(_language_of(staff) or translation.get_language()):
                rows.append(Notification(
                    tenant=tenant, recipient=staff, kind=kind, title=str(title)[:200],
                    body=str(body), url=url, created_at=now,
                    target_type=target._meta.label_lower if target is not None else "",
                    target_id=target.pk if target is not None else None))
        return Notification.objects.bulk_create(rows)


@transaction.atomic
def notification_mark_read(*, tenant: Tenant, actor: Staff,
                           notification: Notification) -> Notification:
    """Mark one of the actor's own notifications read (already read: left as it was)."""
    with tenant_context(tenant):
        notification = (Notification.objects.select_for_update()
                        .filter(pk=notification.pk, recipient=actor).first())
        if notification is None:
            raise PermissionDenied(_("This notification is not yours."))
        if notification.read_at is None:
            notification.read_at = timezone.now()
            notification.save(update_fields=["read_at"])
        return notification


@transaction.atomic
def notifications_mark_all_read(*, tenant: Tenant, actor: Staff) -> int:
    """Mark every unread notification of the actor read; returns how many changed."""
    with tenant_context(tenant):
        return (Notification.objects.filter(recipient=actor, read_at__isnull=True)
                .update(read_at=timezone.now()))
