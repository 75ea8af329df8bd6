"""The inbox (thin: selectors read, services write)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View

from apps.tenancy.views_base import StaffRequiredMixin, TenantObjectMixin

from . import services
from .models import CHANNELS, Notification
from .selectors import channels_available, inbox, preferences_of

PAGE_SIZE = 25


class NotificationMixin(TenantObjectMixin):
    model = Notification

    def scope_queryset(self, queryset):
        # Only the recipient's own: anyone else's id is a 404, like another tenant's.
        return queryset.filter(recipient=self.staff)


class InboxView(NotificationMixin, View):
    def get(self, request):
        show = "unread" if request.GET.get("show") == "unread" else "all"
        kind = request.GET.get("kind", "")
        kind = kind if kind in Notification.Kind.values else ""
        page = Paginator(inbox(self.staff, unread_only=show == "unread", kind=kind),
                         PAGE_SIZE).get_page(request.GET.get("page"))
        return render(request, "notifications/inbox.html",
                      {"page": page, "notifications": page.object_list, "show": show,
                       "kind": kind, "kinds": Notification.Kind.choices})


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


class PreferencesView(StaffRequiredMixin, View):
    """My channels per kind of notification: a table of checkboxes (a channel that cannot
    reach me — no e-mail address, no mobile phone — is disabled and left as it is)."""

    template_name = "notifications/preferences.html"

    def get(self, request):
        return self.render(preferences_of(self.staff))

    def post(self, request):
        if "reset" in request.POST:
            services.notification_preferences_reset(tenant=self.tenant, actor=self.staff,
                                                    staff=self.staff)
            messages.success(request, _("Your notification preferences are back to the "
                                        "defaults."))
            return redirect("notifications:preferences")
        available = channels_available(self.staff)
        values = {kind: {channel: f"{kind}-{channel}" in request.POST
                         for channel in CHANNELS if available[channel]}
                  for kind in Notification.Kind.values}
        try:
            services.notification_preferences_save(tenant=self.tenant, actor=self.staff,
                                                   staff=self.staff, values=values)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
            rows = preferences_of(self.staff)
            for row in rows:  # keep what was ticked
                row.update(values[row["kind"]])
            return self.render(rows, status=400)
        messages.success(request, _("Your notification preferences were saved."))
        return redirect("notifications:preferences")

    def render(self, rows, status=200):
        return render(self.request, self.template_name,
                      {"rows": rows, "available": channels_available(self.staff)},
                      status=status)
