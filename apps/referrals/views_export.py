"""/referrals/export.xlsx?<the list's query> — the referral list as .xlsx
(apps.referrals.exports): the same visibility, filters and status tab as /referrals/
(selectors.referral_list), names and phones masked as on the list. Invalid filters send the
user back to the list, which shows why. Who: the roles of the referral pages (VIEW_ROLES)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from django.views import View

from apps.core.xlsx import xlsx_download

from . import exports, selectors
from .views_referrals import ReferralMixin


class ReferralExportView(ReferralMixin, View):
    def get(self, request):
        try:
            referrals = selectors.referral_list(self.staff, request.GET)
        except ValidationError:
            return redirect(f"{reverse('referrals:referral_list')}?{request.GET.urlencode()}")
        return xlsx_download(
            lambda handle: exports.referrals_xlsx(self.staff, referrals, handle),
            *exports.export_filename(self.tenant))
