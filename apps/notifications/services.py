"""Sending in-app notifications. Modules call `notify` inside their own transaction, so a
notification exists exactly when the decision it reports was committed."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.mail import EmailMessage, get_connection
from django.db import models, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from apps.tenancy.context import tenant_context
from apps.tenancy.models import Staff, Tenant

from .models import Notification
from .sms import SmsMessage, send_sms

logger = logging.getLogger(__name__)


def _language_of(staff: Staff) -> str | None:
    return getattr(staff.user, "language", "") or None


@transaction.atomic
def notify(*, tenant: Tenant, recipients: Iterable[Staff | None], kind: str, title, body="",
           url: str = "", target: models.Model | None = None,
           exclude: Staff | None = None, email: bool = False,
           sms: bool = False) -> list[Notification]:
    """One notification per distinct recipient (None and `exclude`, usually the actor, skipped).

    `title` and `body` may be lazy translations: each is rendered in the recipient's language.
    `email` and `sms` also send it to the recipient's e-mail address and mobile phone (those
    who have one) once the transaction commits: a decision rolled back sends nothing."""
    people = _distinct(recipients, exclude)
    rows = []
    now = timezone.now()
    with tenant_context(tenant):
        for staff in people:
            with translation.override(_language_of(staff) or translation.get_language()):
                rows.append(Notification(
                    tenant=tenant, recipient=staff, kind=kind, title=str(title)[:200],
                    body=str(body), url=url, created_at=now,
                    target_type=target._meta.label_lower if target is not None else "",
                    target_id=target.pk if target is not None else None))
        created = Notification.objects.bulk_create(rows)
        if email or sms:
            outgoing = [(n.title, n.body, n.url, staff.user.email if email else "",
                         staff.phone if sms else "")
                        for n, staff in zip(created, people, strict=True)]
            transaction.on_commit(lambda: _send_outside(outgoing))
        return created


def _distinct(recipients, exclude: Staff | None) -> list[Staff]:
    seen: set[int] = set()
    out = []
    for staff in recipients:
        if staff is None or staff.pk in seen or (exclude is not None and staff.pk == exclude.pk):
            continue
        seen.add(staff.pk)
        out.append(staff)
    return out


def _send_outside(outgoing: list[tuple[str, str, str, str, str]]) -> None:
    """E-mail and SMS copies (after the commit). A mail server or SMS provider that fails is
    logged: the in-app notification is there either way."""
    messages = []
    texts = []
    for title, body, url, address, phone in outgoing:
        text = f"{body}\n\n{settings.SITE_URL.rstrip('/')}{url}" if url else body
        if address:
            messages.append(EmailMessage(subject=title, body=text, to=[address]))
        if phone:
            texts.append(SmsMessage(phone=phone, text=f"{title} {body}"[:300]))
    if messages:
        try:
            get_connection().send_messages(messages)
        except OSError:
            logger.exception("notification e-mail not sent")
    send_sms(texts)


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
