from . import admin_points  # noqa: F401  (read-only admin of the points ledger)
