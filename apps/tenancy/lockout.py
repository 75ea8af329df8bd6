"""Login throttling (django-axes, settings "Login throttling"): whose address counts, and what
a locked-out caller gets — the login page with the reason, or the API's error format."""

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import ngettext

from .forms import StaffAuthenticationForm


def client_ip(request) -> str | None:
    """REMOTE_ADDR; behind the proxy (BEHIND_PROXY) the last X-Forwarded-For entry, the one the
    proxy appended: the earlier ones are whatever the client sent."""
    if settings.BEHIND_PROXY:
        last = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[-1].strip()
        if last:
            return last
    return request.META.get("REMOTE_ADDR")


def locked_out_message() -> str:
    minutes = max(1, int(settings.AXES_COOLOFF_TIME.total_seconds() // 60))
    return ngettext(
        "Too many failed sign-ins: this account is locked on this device for %(minutes)d minute. "
        "Try again later, or ask your company's administrator to unlock it.",
        "Too many failed sign-ins: this account is locked on this device for %(minutes)d minutes. "
        "Try again later, or ask your company's administrator to unlock it.",
        minutes) % {"minutes": minutes}


def locked_out_response(request, original_response=None, credentials=None):
    status = settings.AXES_HTTP_RESPONSE_CODE
    message = locked_out_message()
    if request.path.startswith("/api/"):
        return JsonResponse({"error": {"status": status, "code": "locked_out", "message": message,
                                       "fields": {}}}, status=status)
    # An unbound form: validating it again would authenticate (and count a failure) again.
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    form = StaffAuthenticationForm(request, initial={"username": username})
    return render(request, "registration/login.html",
                  {"form": form, "locked_out": message, "next": request.POST.get("next", "")},
                  status=status)
