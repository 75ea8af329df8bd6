"""The tenant's follow-up plan (回访计划): pure, no ORM.

A plan is data (``FollowUpPlan.rules``, validated by ``parse_plan_rules``)::

    {
      "after_deal": [{"after": "2h", "channel": "phone"}, {"after": "1d"}, {"after": "7d"},
                     {"after": "1m"}, {"after": "3m"}],        # h hours, d days, m months
      "grades": [{"grade": "A", "min_units": 100, "every_days": 10},
                 {"grade": "B", "min_units": 50, "every_days": 15},
                 {"grade": "C", "min_units": 10, "every_days": 30}],   # below C: D, no visits
      "complaint_working_days": 3,
      "vip_care": true,                  # the tiers' phone and SMS frequencies (apps.vip)
      "birthday": "vip",                 # vip (tiers with the greeting) | all | off
      "renewal": true,                   # at the renewals module's lead days
      "calling_windows": [["10:00", "11:30"], ["15:00", "17:30"]],
      "days_ahead": 7,                   # the daily job makes the tasks of the next 7 days
      "avoid_holidays": true,            # not on public holidays (春节, 国庆…): the next day
      "retry_after_hours": 24, "max_attempts": 3,
      "remind_after_hours": 0, "escalate_after_hours": 24,
      "penalty": true, "penalty_grace_hours": 48, "penalty_amount": null,
      "scripts": {"after_sale": "…", "complaint": "…"}
    }

Grades come from a buyer's units over the last 365 days: the first grade whose `min_units` is
reached (A ≥ 100, B 50–99, C 10–49, D below: DOMAIN.md §8). The offsets after a deal count
hours from when the deal was entered, days and months from its signing day. Every phone task
is placed inside a calling window (apps.followups.windows).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Literal

from django.utils.translation import gettext_noop
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from apps.core.bands import MONEY, plain_number
from apps.core.pydantic_errors import _, describe
from apps.core.workdays import next_non_holiday

OFFSET_PATTERN = r"^([1-9][0-9]{0,2})([hdm])$"
CHANNELS = ("phone", "sms", "wechat", "email", "visit", "letter")
PURPOSES = ("after_sale", "renewal", "complaint", "repair", "birthday", "referral_ask",
            "periodic", "vip_care")
Channel = Literal["phone", "sms", "wechat", "email", "visit", "letter"]
Purpose = Literal["after_sale", "renewal", "complaint", "repair", "birthday", "referral_ask",
                  "periodic", "vip_care"]


class Offset(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    after: str = Field(pattern=OFFSET_PATTERN)
    channel: Channel = "phone"

    @property
    def amount(self) -> int:
        return int(re.match(OFFSET_PATTERN, self.after).group(1))

    @property
    def unit(self) -> str:
        return self.after[-1]


class GradeRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    grade: Literal["A", "B", "C"]
    min_units: int = Field(ge=1, le=1_000_000)
    #: 0: no scheduled visits for the grade.
    every_days: int = Field(ge=0, le=366)


def _clock(text: str) -> dt.time:
    match = re.fullmatch(r"([01][0-9]|2[0-3]):([0-5][0-9])", text or "")
    if not match:
        raise ValueError(_("Write times as HH:MM, e.g. 10:00."))
    return dt.time(int(match.group(1)), int(match.group(2)))


class PlanRules(BaseModel):
    """A validated follow-up plan (the `FollowUpPlan.rules` JSON). Immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    after_deal: tuple[Offset, ...] = Field(default=(), max_length=12)
    grades: tuple[GradeRule, ...] = Field(default=(), max_length=3)
    complaint_working_days: int = Field(3, ge=1, le=30)
    vip_care: bool = True
    birthday: Literal["vip", "all", "off"] = "vip"
    renewal: bool = True
    calling_windows: tuple[tuple[str, str], ...] = Field(min_length=1, max_length=6)
    days_ahead: int = Field(7, ge=0, le=31)
    #: Calls and visits the rules put on a public holiday move to the next day that is not one.
    avoid_holidays: bool = True
    retry_after_hours: int = Field(24, ge=1, le=24 * 14)
    max_attempts: int = Field(3, ge=1, le=10)
    remind_after_hours: int = Field(0, ge=0, le=24 * 14)
    escalate_after_hours: int = Field(24, ge=0, le=24 * 30)
    penalty: bool = True
    penalty_grace_hours: int = Field(48, ge=0, le=24 * 60)
    #: None: the amount of the commission rules' "missed_follow_up" penalty (default 50).
    penalty_amount: Decimal | None = Field(None, **{**MONEY, "ge": None, "gt": 0})
    scripts: dict[Purpose, str] = Field(default_factory=dict)

    @field_validator("after_deal")
    @classmethod
    def _check_offsets(cls, offsets: tuple[Offset, ...]) -> tuple[Offset, ...]:
        seen: set[str] = set()
        for offset in offsets:
            if offset.after in seen:
                raise ValueError(_("The offset “%(after)s” is listed twice.")
                                 % {"after": offset.after})
            seen.add(offset.after)
        return offsets

    @field_validator("grades")
    @classmethod
    def _check_grades(cls, grades: tuple[GradeRule, ...]) -> tuple[GradeRule, ...]:
        order = [g.grade for g in grades]
        if order != sorted(order) or len(set(order)) != len(order):
            raise ValueError(_("List each grade once, A first, then B, then C."))
        for higher, lower in zip(grades, grades[1:], strict=False):
            if lower.min_units >= higher.min_units:
                raise ValueError(_("Grade %(lower)s needs fewer units (%(n)s) than grade "
                                   "%(higher)s (%(m)s).") % {
                    "lower": lower.grade, "n": lower.min_units, "higher": higher.grade,
                    "m": higher.min_units})
        return grades

    @field_validator("calling_windows")
    @classmethod
    def _check_windows(cls, windows):
        parsed = []
        for start, end in windows:
            a, b = _clock(start), _clock(end)
            if a >= b:
                raise ValueError(_("A calling window must end after it starts (%(start)s–"
                                   "%(end)s).") % {"start": start, "end": end})
            parsed.append((a, b))
        for (_a, b), (c, _d) in zip(parsed, parsed[1:], strict=False):
            if c <= b:
                raise ValueError(_("List the calling windows in order of the day, without "
                                   "overlaps."))
        return windows

    @field_validator("scripts")
    @classmethod
    def _check_scripts(cls, scripts: dict) -> dict:
        for text in scripts.values():
            if len(text) > 2000:
                raise ValueError(_("A script has at most 2000 characters."))
        return scripts

    # ---- reading

    @property
    def windows(self) -> tuple[tuple[dt.time, dt.time], ...]:
        return tuple((_clock(a), _clock(b)) for a, b in self.calling_windows)

    def every_days(self) -> dict[str, int]:
        """{grade: interval in days} of the grades with scheduled visits."""
        return {g.grade: g.every_days for g in self.grades if g.every_days}

    def grade_for(self, units: int) -> str:
        for g in self.grades:
            if units >= g.min_units:
                return g.grade
        return "D"

    def due_day(self, day: dt.date) -> dt.date:
        """The day a visit the rules put on `day` is due: the next day that is not a public
        holiday when the plan avoids them (a make-up working day is an ordinary day)."""
        return next_non_holiday(day) if self.avoid_holidays else day

    def script(self, purpose: str) -> str:
        return self.scripts.get(purpose, "")

    def as_data(self) -> dict:
        return self.model_dump(mode="json", exclude_defaults=True)


def parse_plan_rules(data: Any) -> PlanRules:
    """Validate plan data (a dict). Raises pydantic.ValidationError; `describe_plan_errors`
    turns it into readable messages."""
    if isinstance(data, PlanRules):
        return data
    return PlanRules.model_validate(data)


# ---------------------------------------------------------------------------------------------
# Presets and descriptions
# ---------------------------------------------------------------------------------------------

DEFAULT_SCRIPTS = {
    "after_sale": "您好，我是{销售}。您一路顺利到家了吧？用得怎么样？对我们的服务满意吗？"
                  "有不到位的地方请直接告诉我，有问题随时给我来电话。",
    "renewal": "您好，您的合同/课程快到期了，我们为老客户准备了续费优惠，想跟您约个时间介绍一下。",
    "complaint": "您好，关于您反映的问题，我们已经在处理。想了解一下现在解决得怎么样，您还满意吗？",
    "repair": "您好，上次的维修/售后处理完了吗？现在使用正常吗？",
    "birthday": "祝您生日快乐！感谢您一直以来的信任与支持。",
    "referral_ask": "您对我们的产品和服务还满意吧？身边有朋友需要的话，欢迎介绍给我们，"
                    "老客户转介绍有专属礼品。",
    "periodic": "您好，例行回访：最近使用情况怎么样？市场和需求有什么变化？有什么需要我们做的？",
    "vip_care": "您好，您是我们的贵宾会员，打扰您一分钟：最近一切都好吧？会员权益有需要随时找我。",
}

PRESETS: dict[str, dict] = {
    "default": {
        "after_deal": [{"after": "2h", "channel": "phone"}, {"after": "1d", "channel": "phone"},
                       {"after": "7d", "channel": "phone"}, {"after": "1m", "channel": "phone"},
                       {"after": "3m", "channel": "phone"}],
        "grades": [{"grade": "A", "min_units": 100, "every_days": 10},
                   {"grade": "B", "min_units": 50, "every_days": 15},
                   {"grade": "C", "min_units": 10, "every_days": 30}],
        "complaint_working_days": 3,
        "vip_care": True,
        "birthday": "vip",
        "renewal": True,
        "calling_windows": [["10:00", "11:30"], ["15:00", "17:30"]],
        "days_ahead": 7,
        "avoid_holidays": True,
        "retry_after_hours": 24,
        "max_attempts": 3,
        "remind_after_hours": 0,
        "escalate_after_hours": 24,
        "penalty": True,
        "penalty_grace_hours": 48,
        "scripts": DEFAULT_SCRIPTS,
    },
}
PRESET_NAMES = {"default": gettext_noop("The default plan (DOMAIN §8)")}

_PART_NAMES = {
    "after_deal": gettext_noop("After a deal"),
    "after": gettext_noop("After"),
    "channel": gettext_noop("Channel"),
    "grades": gettext_noop("Grades"),
    "grade": gettext_noop("Grade"),
    "min_units": gettext_noop("Units a year from"),
    "every_days": gettext_noop("Every (days)"),
    "complaint_working_days": gettext_noop("Complaints within (working days)"),
    "vip_care": gettext_noop("VIP care"),
    "birthday": gettext_noop("Birthday greetings"),
    "renewal": gettext_noop("Renewal reminders"),
    "calling_windows": gettext_noop("Calling windows"),
    "days_ahead": gettext_noop("Days ahead"),
    "avoid_holidays": gettext_noop("Not on public holidays"),
    "retry_after_hours": gettext_noop("Retry after (hours)"),
    "max_attempts": gettext_noop("Attempts at most"),
    "remind_after_hours": gettext_noop("Remind after (hours)"),
    "escalate_after_hours": gettext_noop("Tell the manager after (hours)"),
    "penalty": gettext_noop("Penalty"),
    "penalty_grace_hours": gettext_noop("Penalty after (hours)"),
    "penalty_amount": gettext_noop("Penalty amount"),
    "scripts": gettext_noop("Scripts"),
}

UNIT_TEXT = {"h": gettext_noop("%(n)s hours"), "d": gettext_noop("%(n)s days"),
             "m": gettext_noop("%(n)s months")}


def _loc_text(loc: Sequence[Any]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(_("entry %(n)s") % {"n": item + 1})
        else:
            parts.append(_(_PART_NAMES[item]) if item in _PART_NAMES else str(item))
    return " › ".join(parts)


def describe_plan_errors(exc: ValidationError) -> list[str]:
    """Readable (translated) messages, one per problem, prefixed with where it is."""
    return describe(exc, loc_text=_loc_text, extra={
        "string_pattern_mismatch": _("Write an offset as a number and h (hours), d (days) or "
                                     "m (months), e.g. 2h, 7d, 3m.")})


def offset_text(offset: Offset) -> str:
    return _(UNIT_TEXT[offset.unit]) % {"n": offset.amount}


def describe_plan_rules(rules: PlanRules) -> list[tuple[str, list[str]]]:
    """The plan as sections of sentences for the plan pages."""
    from apps.followups.models import Channel as ChannelChoice

    channel_names = dict(ChannelChoice.choices)
    out: list[tuple[str, list[str]]] = []
    out.append((_("After a deal"), [
        _("%(after)s after: %(channel)s") % {"after": offset_text(o),
                                              "channel": channel_names[o.channel]}
        for o in rules.after_deal] or [_("No visits after a deal.")]))
    grade_lines = []
    for g in rules.grades:
        grade_lines.append(
            (_("Grade %(grade)s (%(units)s units a year or more): a visit every %(days)s days")
             if g.every_days else
             _("Grade %(grade)s (%(units)s units a year or more): no scheduled visits")) % {
                "grade": g.grade, "units": g.min_units, "days": g.every_days})
    grade_lines.append(_("Grade D (fewer units): at the salesperson's discretion."))
    out.append((_("By grade"), grade_lines))
    windows = "、".join(f"{a}–{b}" for a, b in rules.calling_windows)
    out.append((_("Other rules"), [
        _("Complaints and repairs: followed up within %(n)s working days.")
        % {"n": rules.complaint_working_days},
        _("VIP care from the tiers' frequencies: %(on)s.") % {"on": _("yes") if rules.vip_care
                                                                else _("no")},
        {"vip": _("Birthday greetings: customers whose tier has them."),
         "all": _("Birthday greetings: every customer with an owner."),
         "off": _("Birthday greetings: none.")}[rules.birthday],
        _("Renewal reminders at the renewal lead days: %(on)s.")
        % {"on": _("yes") if rules.renewal else _("no")},
        _("Calls only inside the calling windows: %(windows)s.") % {"windows": windows},
        _("Tasks are made %(n)s days ahead.") % {"n": rules.days_ahead},
        _("Visits the rules put on a public holiday move to the next day that is not one.")
        if rules.avoid_holidays else _("Visits may fall on public holidays."),
        _("Unreachable: another try after %(h)s hours, %(n)s attempts at most.")
        % {"h": rules.retry_after_hours, "n": rules.max_attempts},
        _("Overdue: the assignee is reminded after %(r)s hours, the manager told after "
          "%(e)s hours.") % {"r": rules.remind_after_hours, "e": rules.escalate_after_hours},
        (_("A follow-up not done %(h)s hours after it was due costs a penalty of %(amount)s.")
         % {"h": rules.penalty_grace_hours,
            "amount": plain_number(rules.penalty_amount) if rules.penalty_amount
            else _("the commission rules' amount")}) if rules.penalty
        else _("No penalty for a missed follow-up."),
    ]))
    return out
