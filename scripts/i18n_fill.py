"""Fill the zh_Hans catalog from a JSON file of {"English msgid": "中文"} and compile it.

    flock var/i18n.lock sh -c '.venv/bin/python manage.py makemessages -l zh_Hans \
        --ignore=.venv --ignore=var --ignore=bench --ignore=tests --ignore=staticfiles \
        && .venv/bin/python scripts/i18n_fill.py my_strings.json'

Only empty or fuzzy entries are filled (a translation already reviewed is never overwritten);
entries whose msgid is in the file lose their fuzzy flag. Prints the msgids still untranslated.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polib

CATALOG = Path(__file__).resolve().parent.parent / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def main(paths: list[str]) -> int:
    translations: dict[str, str] = {}
    for path in paths:
        translations.update(json.loads(Path(path).read_text(encoding="utf-8")))
    po = polib.pofile(str(CATALOG))
    filled = 0
    for entry in po:
        if entry.obsolete:
            continue
        if entry.msgid in translations and (not entry.translated() or entry.fuzzy):
            if entry.msgid_plural:
                entry.msgstr_plural = {0: translations[entry.msgid]}
            else:
                entry.msgstr = translations[entry.msgid]
            if entry.fuzzy:
                entry.flags.remove("fuzzy")
                entry.previous_msgid = None
                entry.previous_msgid_plural = None
                entry.previous_msgctxt = None
            filled += 1
    po.save(str(CATALOG))
    missing = [e.msgid for e in po if not e.obsolete and not e.translated()]
    subprocess.run(["msgfmt", "--check", "-o", str(CATALOG.with_suffix(".mo")), str(CATALOG)],
                   check=True)
    print(f"filled {filled}; untranslated {len(missing)}")
    for msgid in missing:
        print("  ", msgid)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
