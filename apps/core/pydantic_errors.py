"""Readable (translated) messages for pydantic validation errors of the versioned JSON rule sets
(apps.deals.engine credit rules, apps.referrals.rewards reward policies).

`describe(exc, loc_text=...)` gives one message per problem, prefixed with where it is; each
caller says how a location reads (`loc_text`) and may add or override messages (`extra`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _django_gettext
from django.utils.translation import gettext_noop
from pydantic import ValidationError


def _(message: str) -> str:
    """gettext that also works where Django settings are not configured (a bare benchmark:
    the rule engines import this module)."""
    return _django_gettext(message) if settings.configured else message

#: pydantic error type → English msgid (translated when used); `%(name)s` come from the ctx.
MESSAGES: dict[str, str] = {
    "missing": gettext_noop("This is required."),
    "extra_forbidden": gettext_noop("Unknown key."),
    "greater_than": gettext_noop("Must be more than %(gt)s."),
    "greater_than_equal": gettext_noop("Must be at least %(ge)s."),
    "less_than_equal": gettext_noop("Must be at most %(le)s."),
    "decimal_parsing": gettext_noop("Must be a number."),
    "decimal_type": gettext_noop("Must be a number."),
    "finite_number": gettext_noop("Must be a number."),
    "decimal_max_places": gettext_noop("At most %(decimal_places)s decimal places."),
    "int_parsing": gettext_noop("Must be a whole number."),
    "int_type": gettext_noop("Must be a whole number."),
    "int_from_float": gettext_noop("Must be a whole number."),
    "bool_type": gettext_noop("Must be true or false."),
    "bool_parsing": gettext_noop("Must be true or false."),
    "string_type": gettext_noop("Must be text."),
    "string_too_short": gettext_noop("This is required."),
    "string_too_long": gettext_noop("Too long (at most %(max_length)s characters)."),
    "too_short": gettext_noop("Give at least %(min_length)s entries."),
    "too_long": gettext_noop("Too many entries (at most %(max_length)s)."),
    "literal_error": gettext_noop("Must be one of: %(expected)s."),
    "model_type": gettext_noop("Must be an object {…}."),
    "model_attributes_type": gettext_noop("Must be an object {…}."),
    "dict_type": gettext_noop("Must be an object {…}."),
    "tuple_type": gettext_noop("Must be a list […]."),
    "list_type": gettext_noop("Must be a list […]."),
}


def _plain_number(value: Decimal) -> str:
    """A number for people: no trailing zeros (5000.00 → 5000, 2.50 → 2.5)."""
    return format(Decimal(value).normalize(), "f")


def describe(exc: ValidationError, *, loc_text: Callable[[Sequence[Any]], str],
             extra: Mapping[str, str] | None = None,
             number: Callable[[Decimal], str] = _plain_number) -> list[str]:
    """One translated message per problem, each prefixed with `loc_text(loc)` when that is not
    empty ("<where>: <message>"). `extra` adds or overrides msgids by error type; `number`
    formats the Decimal limits in the messages. A list whose entries failed is also reported
    by pydantic as too short: that second message is left out."""
    table = {**MESSAGES, **extra} if extra else MESSAGES
    errors = exc.errors()
    locs = [tuple(e.get("loc", ())) for e in errors]
    out: list[str] = []
    for err in errors:
        etype = err.get("type", "")
        loc = tuple(err.get("loc", ()))
        if etype == "too_short" and any(len(d) > len(loc) and d[:len(loc)] == loc
                                        for d in locs):
            continue
        ctx = err.get("ctx") or {}
        if etype == "value_error" and "error" in ctx:
            msg = str(ctx["error"])
        elif etype in table:
            params = {k: (number(v) if isinstance(v, Decimal) else v) for k, v in ctx.items()}
            if etype == "literal_error":
                params["expected"] = str(ctx.get("expected", "")).replace(" or ", ", ")
            try:
                msg = _(table[etype]) % params
            except (KeyError, TypeError, ValueError):
                msg = _(table[etype])
        else:
            msg = str(err.get("msg", etype))
        where = loc_text(loc)
        out.append(_("%(where)s: %(message)s") % {"where": where, "message": msg} if where
                   else msg)
    return out
