"""/referrals/export.xlsx?<the list's query> — the referral list as .xlsx
(apps.referrals.exports): the same visibility, filters and status tab as /referrals/
(selectors.referral_list), names and phones masked as on the list. Invalid filters send the
user back to the list, which shows why. Who: the roles of the referral pages (VIEW_ROLES).
Over settings.EXPORT_DIRECT_MAX_ROWS rows the file is built by a task with progress
(apps.exports)."""

from __future__ import annotations

from django.views import View

from apps.exports.http import export_response
from apps.exports.models import ExportJob

from .views_referrals import ReferralMixin


class ReferralExportView(ReferralMixin, View):
    def get(self, request):
        return export_response(request, self.staff, ExportJob.Kind.REFERRALS)
