"""The so-far tests use the deals world (an education tenant with a consultant and an advisor)."""

from tests.deals.conftest import edu  # noqa: F401 - the fixture
