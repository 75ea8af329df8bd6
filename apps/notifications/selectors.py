"""Reads of the notification centre shared by the inbox page, the API and the header badge."""

from __future__ import annotations

from django.db.models import QuerySet

from apps.tenancy.models import Staff

from .models import Notification


def unread_count(staff: Staff) -> int:
    return Notification.objects.filter(recipient=staff, read_at__isnull=True).count()


def inbox(staff: Staff, *, unread_only: bool = False) -> QuerySet:
    """`staff`'s own notifications, newest first (nobody ever sees another's)."""
    qs = Notification.objects.filter(recipient=staff).order_by("-created_at", "-id")
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs
