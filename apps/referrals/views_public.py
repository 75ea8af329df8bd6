"""The public pages (no login): the referral page /r/<tenant-slug>/<code>/ and the honour
board /r/<tenant-slug>/board/."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.cache import cache_control
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_safe

from apps.core.forms import add_service_errors

from . import board
from .forms_referrers import PublicReferralForm
from .public import public_card, rate_limited, referral_submit_public


def client_ip(request) -> str | None:
    """The address the request came from (REMOTE_ADDR: the proxy in front must set it)."""
    return request.META.get("REMOTE_ADDR") or None


def _not_found(request):
    return render(request, "referrals/public_404.html", status=404)


@csrf_protect
def public_referral(request, slug: str, code: str):
    translation.activate("zh-hans")  # the page is in Chinese whoever opens it
    found = public_card(slug, code)
    if found is None:
        return _not_found(request)
    context = {"tenant_name": found.tenant_name, "referrer_name": found.referrer_masked_name}
    if request.method == "POST":
        if rate_limited(ip=client_ip(request), tenant=found.tenant, code=found.card.code):
            return render(request, "referrals/public_429.html", context, status=429)
        form = PublicReferralForm(request.POST)
        if form.is_valid():
            try:
                referral_submit_public(tenant=found.tenant, card=found.card, ip=client_ip(request),
                                       **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                return render(request, "referrals/public_thanks.html", context)
    elif request.method == "GET":
        form = PublicReferralForm()
    else:
        return _not_found(request)
    return render(request, "referrals/public_form.html", {**context, "form": form})


@require_safe
@cache_control(public=True, max_age=board.PUBLIC_CACHE_SECONDS)
def public_board(request, slug: str):
    """The tenant's public honour board (masked names only), when its reward policy in force
    has `public_board` on; else (or an unknown slug) the same 404 page as a bad link. Built
    from the cache (board.public_board): no submission counters are touched."""
    translation.activate("zh-hans")
    data = board.public_board(slug)
    if data is None:
        return _not_found(request)
    return render(request, "referrals/public_board.html", data)
