"""zh-hans is the default language: the committed catalogue is complete and compiled."""

import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

CATALOG = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES"


def po_entries():
    text = (CATALOG / "django.po").read_text(encoding="utf-8")
    return re.findall(r'^(?:msgctxt "(.*)"\n)?msgid "(.+)"\n(?:msgid_plural ".*"\n)?msgstr(?:\[0\])? "(.*)"',
                      text, re.MULTILINE)


def test_every_message_is_translated_and_compiled():
    entries = po_entries()
    assert len(entries) > 200
    with open(CATALOG / "django.mo", "rb") as fh:
        compiled = gettext.GNUTranslations(fh)
    for context, msgid, msgstr in entries:
        assert msgstr, f"untranslated: {msgid}"
        key = f"{context}\x04{msgid}" if context else msgid
        assert key in compiled._catalog or (key, 0) in compiled._catalog, f"not compiled: {msgid}"


@pytest.mark.django_db
def test_pages_are_chinese_by_default(world_a, client_for):
    html = client_for(world_a.sales).get(reverse("customers:list")).content.decode()
    assert '<html lang="zh-hans">' in html
    assert "客户" in html
    assert ">Customers<" not in html
