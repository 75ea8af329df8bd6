"""Translation helpers shared by the apps."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from django.utils.functional import lazy


def _interpolate(message, params: Mapping) -> str:
    # `message % …` rather than `str(message) % …`: a plural lazy text (ngettext_lazy) picks
    # its form from the params. Numbers stay numbers (for %(n)d and plural choice); anything
    # else (names, lazy labels) is rendered now, in the active language.
    return str(message % {k: v if isinstance(v, (int, Decimal)) else str(v)
                          for k, v in params.items()})


#: `message % params`, rendered when the text is used — in the reader's language: a
#: notification is rendered per recipient, an error in the request's language.
lazy_format = lazy(_interpolate, str)
