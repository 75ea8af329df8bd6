"""What every app's HTML views share."""

from __future__ import annotations


def is_htmx(request) -> bool:
    """An htmx request that swaps a part of the page (a boosted link wants the whole page).

    A view that answers such requests with a fragment must `patch_vary_headers(response,
    ["HX-Request"])`, so that no cache hands the fragment out for the full page."""
    return request.headers.get("HX-Request") == "true" and not request.headers.get("HX-Boosted")
