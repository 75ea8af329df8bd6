"""Reads of the notification centre shared by the inbox page, the API and the header badge."""

from __future__ import annotations

from django.db.models import QuerySet

from apps.tenancy.models import Staff

from .models import MODULE_DEFAULTS, Notification, NotificationPreference


def unread_count(staff: Staff) -> int:
    return Notification.objects.filter(recipient=staff, read_at__isnull=True).count()


def inbox(staff: Staff, *, unread_only: bool = False, kind: str = "") -> QuerySet:
    """`staff`'s own notifications, newest first (nobody ever sees another's); `kind` keeps
    one kind only."""
    qs = Notification.objects.filter(recipient=staff).order_by("-created_at", "-id")
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    if kind:
        qs = qs.filter(kind=kind)
    return qs


def preferences_of(staff: Staff) -> list[dict]:
    """The table of `staff`'s channels, one row per kind (in the order of Notification.Kind):
    ``{"kind", "label", "in_app", "email", "sms", "email_default", "sms_default",
    "saved"}`` where `email`/`sms` show what applies (the saved choice, else the module's
    default) and `*_default` say that no choice was saved for that channel. One query."""
    saved = {p.kind: p for p in NotificationPreference.objects.filter(staff=staff)}
    rows = []
    for kind, label in Notification.Kind.choices:
        pref = saved.get(kind)
        module_email, module_sms = MODULE_DEFAULTS.get(kind, (False, False))
        email = pref.email if pref is not None else None
        sms = pref.sms if pref is not None else None
        rows.append({"kind": kind, "label": label,
                     "in_app": pref.in_app if pref is not None else True,
                     "email": module_email if email is None else email,
                     "sms": module_sms if sms is None else sms,
                     "email_default": email is None, "sms_default": sms is None,
                     "saved": pref is not None})
    return rows


def channels_available(staff: Staff) -> dict[str, bool]:
    """Which outside channels can reach `staff`: an e-mail address, a mobile phone."""
    return {"in_app": True, "email": bool(staff.user.email), "sms": bool(staff.phone)}
