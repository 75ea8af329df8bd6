from apps.tenancy.context import current_tenant_id


def unread_notifications(request):
    """The unread count for the header badge (one indexed COUNT, only for signed-in staff)."""
    staff = getattr(request, "staff", None)
    if staff is None or current_tenant_id() is None:
        return {}
    from .selectors import unread_count

    return {"unread_notifications": lambda: unread_count(staff)}
