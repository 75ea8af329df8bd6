"""Shared by the driver and the scenarios."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class BenchContext:
    tenants: list  # bench.data.BenchTenant
    scale: float
    log: Callable[[str], None] = print


def percentile(samples: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) -- no interpolation, a real observed value."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)
