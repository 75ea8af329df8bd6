"""Fixtures of the security suite: the PII data is built once per module (see
tests/isolation/conftest.py: an outer transaction rolled back at the end of the module)."""

import pytest
from django.test import override_settings

from tests.isolation.conftest import built_once

from .pii_data import build_pii_world


@pytest.fixture(scope="module")
def _pii_media(tmp_path_factory):
    with override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("pii-media")):
        yield


@pytest.fixture(autouse=True)
def _media_root(_pii_media):
    """Replaces the per-test media directory of tests/conftest.py (the evidence file is made
    once, with the data)."""


@pytest.fixture(scope="module")
def _pii_data(django_db_setup, django_db_blocker, _pii_media):
    yield from built_once(django_db_blocker, build_pii_world)


@pytest.fixture
def pii(db, _pii_data):
    return _pii_data
