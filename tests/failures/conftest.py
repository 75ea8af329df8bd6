"""Failure tests reuse the deals world (an education tenant with a consultant, teachers and an
academic advisor in team 1)."""

from tests.deals.conftest import edu  # noqa: F401 - the fixture
