from apps.tenancy.models import Staff

from .models import Notification


def unread_count(staff: Staff) -> int:
    return Notification.objects.filter(recipient=staff, read_at__isnull=True).count()
