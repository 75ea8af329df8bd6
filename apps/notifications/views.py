"""The inbox (thin: selectors read, services write)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import ngettext
from django.views import View

from apps.tenancy.views_base import TenantObjectMixin

from . import services
from .models import Notification
from .selectors import inbox

PAGE_SIZE = 25


class NotificationMixin(TenantObjectMixin):
    model = Notification

    def scope_queryset(self, queryset):
        # Only the recipient's own: anyone else's id is a 404, like another tenant's.
        return queryset.filter(recipient=self.staff)


class InboxView(NotificationMixin, View):
    def get(self, request):
        show = "unread" if request.GET.get("show") == "unread" else "all"
        page = Paginator(inbox(self.staff, unread_only=show == "unread"), PAGE_SIZE).get_page(
            request.GET.get("page"))
        return render(request, "notifications/inbox.html",
                      {"page": page, "notifications": page.object_list, "show": show})


class OpenView(NotificationMixin, View):
    """Mark one notification read and go to what it is about (GET from a link, or POST)."""

    def get(self, request, pk):
        notification = get_object_or_404(self.get_queryset(), pk=pk)
        services.notification_mark_read(tenant=self.tenant, actor=self.staff,
                                        notification=notification)
        url = notification.url
        if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()},
                                                   require_https=request.is_secure()):
            return redirect(url)
        return redirect("notifications:inbox")

    post = get


class MarkAllReadView(NotificationMixin, View):
    def post(self, request):
        count = services.notifications_mark_all_read(tenant=self.tenant, actor=self.staff)
        messages.success(request, ngettext("%(count)s notification marked read.",
                                           "%(count)s notifications marked read.", count)
                         % {"count": count})
        return redirect("notifications:inbox")
