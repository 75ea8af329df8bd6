"""Commission rule set presets a tenant can start from (pure data in the format of
apps.commissions.rules).

* "education": the 续费转介绍薪资标准 of seed 000 (学管部绩效考核制度): a renewal pays 1.5 % of the
  renewal in all — renewed within 45 days of the contract start (day 45 included, the start day
  being day 0) the consultant gets 70 % of it and the academic advisor 30 %; from day 46 the
  consultant 30 % and the advisor 70 % (100 000 within 45 days → 1 500: consultant 1 050,
  advisor 450). A staff member whose referral signs earns 1.5 % of the referred deal (三、转介绍提成).
* "home": the 聚典 table of seed 000 (签单人、带会人员的奖励办法) for referral deals: the closer and the
  meeting lead 100 / 200 / 300 / 400 and the meeting assistant 50 / 100 / 150 / 200 for deals
  under 10 000, 10 000–30 000, 30 000–50 000 and 50 000 and over (lower bound included); and the
  2023年转介绍奖励方案: at most 50 % of the base salary a month, 10 or more successful referrals in
  a month → 3 000, the quarter's top three people 5 000 / 3 000 / 1 000 and top three teams
  10 000 / 5 000 / 3 000, +2 % of the first purchase when the referred customer still buys three
  months later, and −50 for a follow-up visit not done on time.

Rule names are English msgids, shown translated (a name a tenant types is shown as written).
`preset_for_industry` is the referrer rewards' one: education tenants "education", every other
industry "home".
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from apps.referrals.reward_presets import preset_for_industry

EDUCATION: dict = {"rules": [
    {"kind": "pool", "name": gettext_noop("Renewal commission"), "deal_kinds": ["renewal"], "percent": "1.5",
     "windows": [{"until_day": 45, "shares": {"consultant": "70", "advisor": "30"}},
                 {"shares": {"consultant": "30", "advisor": "70"}}]},
    {"kind": "staff_referral", "name": gettext_noop("Staff referral commission"), "percent": "1.5"},
]}

HOME: dict = {"rules": [
    {"kind": "fixed", "name": gettext_noop("Referral deal reward"), "deal_kinds": ["referral"],
     "edges": "lower",
     "bands": [
         {"max": "10000", "amounts": {"closer": "100", "lead": "100", "assistant": "50"}},
         {"min": "10000", "max": "30000",
          "amounts": {"closer": "200", "lead": "200", "assistant": "100"}},
         {"min": "30000", "max": "50000",
          "amounts": {"closer": "300", "lead": "300", "assistant": "150"}},
         {"min": "50000", "amounts": {"closer": "400", "lead": "400", "assistant": "200"}},
     ]},
    {"kind": "cap", "name": gettext_noop("Monthly cap"), "percent_of_base": "50",
     "applies_to": ["fixed", "staff_referral", "count_bonus", "retention"]},
    {"kind": "count_bonus", "name": gettext_noop("10 or more referrals in a month"),
     "threshold": 10, "amount": "3000"},
    {"kind": "ranking", "name": gettext_noop("Quarterly top three"), "scope": "person",
     "period": "quarter",
     "prizes": ["5000", "3000", "1000"]},
    {"kind": "ranking", "name": gettext_noop("Quarterly top three teams"), "scope": "team",
     "period": "quarter",
     "prizes": ["10000", "5000", "3000"]},
    {"kind": "retention", "name": gettext_noop("Retention bonus"), "percent": "2", "after_months": 3},
    {"kind": "penalty", "name": gettext_noop("Follow-up visit not done on time"),
     "code": "missed_follow_up", "amount": "50"},
]}

__all__ = ["EDUCATION", "HOME", "PRESETS", "PRESET_NAMES", "preset_for_industry"]

PRESETS: dict[str, dict] = {"education": EDUCATION, "home": HOME}
PRESET_NAMES = {"education": _("Education (renewal split 70/30, referral 1.5 %)"),
                "home": _("Home furnishing (fixed by band, cap, bonuses, ranking)")}

