"""Ownership windows as pure date arithmetic (no ORM), so every boundary is table-testable.

All days are calendar days in the tenant's time zone. With `release_after_days` = 30 a customer
last contacted on day D is protected through D+30 (a gap of 30 days is still "within 30 days",
客户确认规范 (二)6) and is released by the nightly job on D+31."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, model_validator


class PolicyRules(BaseModel):
    """A validated ownership policy (the data of apps.ownership.models.OwnershipPolicy)."""

    model_config = ConfigDict(frozen=True)

    version: int = Field(0, ge=0)
    effective_from: dt.date | None = None
    release_after_days: int = Field(30, ge=1, le=365)
    revisit_window_days: int = Field(30, ge=1, le=365)
    warn_before_days: int = Field(3, ge=0, le=60)
    max_customers_per_owner: int | None = Field(None, ge=1)
    daily_claim_cap: int | None = Field(None, ge=1)
    reclaim_after_days: int = Field(7, ge=0, le=365)

    @model_validator(mode="after")
    def _warning_inside_window(self):
        if self.warn_before_days >= self.release_after_days:
            raise ValueError("warn_before_days must be less than release_after_days")
        return self


DEFAULT_POLICY = PolicyRules()


def protection_end(last_contact: dt.date, policy: PolicyRules) -> dt.date:
    """The last day the owner keeps a customer last contacted on `last_contact`."""
    return last_contact + dt.timedelta(days=policy.release_after_days)


def is_protected(last_contact: dt.date | None, today: dt.date, policy: PolicyRules) -> bool:
    return last_contact is not None and today <= protection_end(last_contact, policy)


def release_cutoff(today: dt.date, policy: PolicyRules) -> dt.date:
    """Customers whose last contact day is *before* this day are due for the pool on `today`."""
    return today - dt.timedelta(days=policy.release_after_days)


def warn_from(today: dt.date, policy: PolicyRules) -> dt.date:
    """Protection ending on or before this day: on the "about to be released" list."""
    return today + dt.timedelta(days=policy.warn_before_days)


def within_revisit_window(last_visit: dt.date | None, today: dt.date,
                          policy: PolicyRules) -> bool:
    """A return visit within the window stays with the first receptionist (二.6); after it the
    visitor who does not name anyone is a natural customer (一.14)."""
    return last_visit is not None and (today - last_visit).days <= policy.revisit_window_days


def may_reclaim(released_from_on: dt.date | None, today: dt.date, policy: PolicyRules) -> bool:
    """A former owner may claim back a customer only `reclaim_after_days` after losing it."""
    return released_from_on is None or (today - released_from_on).days >= policy.reclaim_after_days
