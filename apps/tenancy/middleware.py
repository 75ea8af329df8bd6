from django.conf import settings
from django.db import transaction
from django.utils import translation

from .context import activate, deactivate, reset
from .selectors import active_membership


def enter_user_tenant(request, user) -> None:
    """Find the signed-in user's membership and enter its tenant in this transaction.

    Sets `request.staff` and `request.tenant` (None for anonymous users, users without an
    active membership, and members of a deactivated tenant)."""
    request.staff = None
    request.tenant = None
    if user is None or not user.is_authenticated:
        return
    staff = active_membership(user)
    if staff is None:
        return
    request._tenant_token = activate(staff.tenant_id)
    request.staff = staff
    request.tenant = staff.tenant


class TenantMiddleware:
    """Runs the whole request in one transaction with the user's tenant entered.

    API views authenticate later (tokens), so the DRF base view calls `enter_user_tenant`
    again after authentication, inside this same transaction."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with transaction.atomic():
            request._tenant_token = None
            enter_user_tenant(request, getattr(request, "user", None))
            try:
                response = self.get_response(request)
            except BaseException:
                if request._tenant_token is not None:
                    reset(request._tenant_token)  # the rollback takes the setting with it
                raise
            if response.status_code >= 500:
                transaction.set_rollback(True)
            if request._tenant_token is not None:
                deactivate(request._tenant_token, transaction_ends=True)
        return response


class UserLanguageMiddleware:
    """zh-hans by default; a user who picked English gets English."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        language = getattr(user, "language", "") if user and user.is_authenticated else ""
        language = language or settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response
