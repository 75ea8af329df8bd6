"""Scenario registry: every module in this package is a scenario.

A scenario module defines

* ``NAME`` -- what ``BENCH=<name>`` selects (defaults to the module name),
* ``DESCRIPTION`` -- one line for the report,
* ``TARGETS`` -- ``{"metric": ("<=", 50.0)}``; a metric outside its target fails the run,
* ``run(ctx) -> dict[str, float]`` -- the measured metrics (flat, numbers only).

A later issue adds a scenario by adding a module; nothing else needs to change.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def discover() -> dict[str, ModuleType]:
    found = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        found[getattr(module, "NAME", info.name)] = module
    return found
