"""Sending notifications (in-app, e-mail, SMS). Modules call `notify` inside their own
transaction, so a notification exists exactly when the decision it reports was committed."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage, get_connection
from django.db import models, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from apps.core.audit import audit_record
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Staff, Tenant

from .models import CHANNELS, MODULE_DEFAULTS, Notification, NotificationPreference
from .sms import SmsMessage, send_sms

logger = logging.getLogger(__name__)


def _language_of(staff: Staff) -> str | None:
    return getattr(staff.user, "language", "") or None


def notify(*, tenant: Tenant, recipients: Iterable[Staff | None], kind: str, title, body="",
           url: str = "", target: models.Model | None = None,
           exclude: Staff | None = None, email: bool = False,
           sms: bool = False) -> list[Notification]:
    """One notification per distinct recipient (None and `exclude`, usually the actor, skipped).

    `title` and `body` may be lazy translations: each is rendered in the recipient's language.
    `email` and `sms` are the module's wish to also send it to the recipient's e-mail address
    and mobile phone (those who have one) once the transaction commits: a decision rolled back
    sends nothing. Each recipient's NotificationPreference for `kind` overrides them, and may
    turn the in-app row off (read for all recipients in one query). Returns the in-app rows
    written."""
    people = _distinct(recipients, exclude)
    return notify_each(tenant=tenant, kind=kind, messages=[(s, title, body) for s in people],
                       url=url, target=target, email=email, sms=sms)


@transaction.atomic
def notify_each(*, tenant: Tenant, kind: str, messages: Sequence[tuple[Staff, object, object]],
                url: str = "", target: models.Model | None = None, email: bool = False,
                sms: bool = False) -> list[Notification]:
    """Like `notify`, with a text of its own for each recipient: `messages` is
    ``[(staff, title, body)]`` (one per staff member; titles and bodies may be lazy)."""
    if not messages:
        return []
    rows = []
    outgoing = []
    now = timezone.now()
    with tenant_context(tenant):
        channels = channels_for(kind, [staff.pk for staff, _t, _b in messages],
                                email=email, sms=sms)
        for staff, title, body in messages:
            in_app, by_email, by_sms = channels[staff.pk]
            with translation.override(_language_of(staff) or translation.get_language()):
                title_text, body_text = str(title)[:200], str(body)
            if in_app:
                rows.append(Notification(
                    tenant=tenant, recipient=staff, kind=kind, title=title_text,
                    body=body_text, url=url, created_at=now,
                    target_type=target._meta.label_lower if target is not None else "",
                    target_id=target.pk if target is not None else None))
            address = staff.user.email if by_email else ""
            phone = staff.phone if by_sms else ""
            if address or phone:
                outgoing.append((title_text, body_text, url, address, phone))
        created = Notification.objects.bulk_create(rows) if rows else []
        if outgoing:
            transaction.on_commit(lambda: _send_outside(outgoing))
        return created


def channels_for(kind: str, staff_ids: list[int], *, email: bool,
                 sms: bool) -> dict[int, tuple[bool, bool, bool]]:
    """{staff id: (in_app, email, sms)} for one kind: each person's saved choice, else in-app
    and the module's `email`/`sms`. One query, whatever the number of people (call inside the
    tenant context)."""
    saved = {staff_id: (in_app, e, s) for staff_id, in_app, e, s in
             NotificationPreference.objects.filter(kind=kind, staff_id__in=staff_ids)
             .values_list("staff_id", "in_app", "email", "sms")}
    out = {}
    for staff_id in staff_ids:
        in_app, e, s = saved.get(staff_id, (True, None, None))
        out[staff_id] = (in_app, email if e is None else e, sms if s is None else s)
    return out


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


# --------------------------------------------------------------------------- preferences

@transaction.atomic
def notification_preferences_save(*, tenant: Tenant, actor: Staff, staff: Staff,
                                  values: dict[str, dict[str, bool | None]]
                                  ) -> list[NotificationPreference]:
    """Save `staff`'s channels: ``{kind: {channel: value}}`` (channels in_app, email, sms; a
    channel left out stays as it is). Only one's own preferences.

    For e-mail and SMS, None means "as the module asks"; a value equal to the kind's module
    default (MODULE_DEFAULTS) where nothing was chosen keeps following the module (a page of
    checkboxes sends every box). A kind back at the defaults has no row. One audit entry
    (``notifications.preferences``, on the staff member) lists what changed. Turning e-mail or
    SMS on needs an e-mail address or a mobile phone."""
    if actor.pk != staff.pk:
        raise PermissionDenied(_("You may only change your own notification preferences."))
    kinds = set(Notification.Kind.values)
    errors: dict[str, list[str]] = {}
    for kind, channels in values.items():
        if kind not in kinds:
            errors.setdefault("kind", []).append(
                _("Unknown kind of notification: %(kind)s.") % {"kind": kind})
            continue
        for channel, value in channels.items():
            if channel not in CHANNELS:
                errors.setdefault("channel", []).append(
                    _("Unknown channel: %(channel)s.") % {"channel": channel})
            elif value is None and channel == "in_app":
                errors.setdefault("in_app", []).append(_("In-app must be on or off."))
            elif value is not None and not isinstance(value, bool):
                errors.setdefault(channel, []).append(_("Must be on, off or empty."))
    wants = {ch for channels in values.values() for ch, v in channels.items() if v is True}
    if "email" in wants and not staff.user.email:
        errors.setdefault("email", []).append(
            _("You have no e-mail address: e-mail notifications cannot be turned on."))
    if "sms" in wants and not staff.phone:
        errors.setdefault("sms", []).append(
            _("You have no mobile phone number: SMS notifications cannot be turned on."))
    if errors:
        raise ValidationError(errors)
    with tenant_context(tenant):
        saved = {p.kind: p for p in
                 NotificationPreference.objects.select_for_update().filter(staff=staff)}
        changes: dict[str, list] = {}
        for kind, channels in values.items():
            pref = saved.get(kind)
            old = ((pref.in_app, pref.email, pref.sms) if pref is not None
                   else (True, None, None))
            new = list(old)
            module = dict(zip(("email", "sms"), MODULE_DEFAULTS.get(kind, (False, False)),
                              strict=True))
            for channel, value in channels.items():
                i = CHANNELS.index(channel)
                if channel != "in_app" and old[i] is None and value == module[channel]:
                    continue  # an untouched box: keep following the module
                new[i] = value
            new_t = tuple(new)
            if new_t == old:
                continue
            for channel, before, after in zip(CHANNELS, old, new_t, strict=True):
                if before != after:
                    changes[f"{kind}.{channel}"] = [before, after]
            if new_t == (True, None, None):
                pref.delete()
                saved.pop(kind)
            elif pref is None:
                saved[kind] = NotificationPreference.objects.create(
                    tenant=tenant, staff=staff, kind=kind, in_app=new_t[0], email=new_t[1],
                    sms=new_t[2])
            else:
                pref.in_app, pref.email, pref.sms = new_t
                pref.save(update_fields=["in_app", "email", "sms", "updated_at"])
        if changes:
            audit_record(tenant=tenant, actor=actor, action="notifications.preferences",
                         target=staff, changes=changes)
        return sorted(saved.values(), key=lambda p: p.kind)


@transaction.atomic
def notification_preferences_reset(*, tenant: Tenant, actor: Staff, staff: Staff) -> int:
    """Back to the defaults for every kind (in-app on, e-mail/SMS as the modules ask)."""
    values: dict[str, dict[str, bool | None]] = {
        kind: {"in_app": True, "email": None, "sms": None} for kind in Notification.Kind.values}
    with tenant_context(tenant):
        before = NotificationPreference.objects.filter(staff=staff).count()
    notification_preferences_save(tenant=tenant, actor=actor, staff=staff, values=values)
    return before
