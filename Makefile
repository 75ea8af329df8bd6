# One-command entry points. See README.md.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test bench lint messages clean-var

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

run: $(VENV)/.installed
	$(PY) scripts/dev.py run

# Two test processes (pytest-xdist; each its own test database and Redis database), a file at a
# time on one of them: the isolation matrix builds its data once per module.
TEST_ARGS ?= -n 2 --dist loadfile

# The browser journeys (tests/browser) need the distribution's Chromium: installed if missing
# (never a browser downloaded by Playwright); when it cannot be, they skip and say why.
test: $(VENV)/.installed
	bash scripts/browser_setup.sh
	$(PY) scripts/dev.py test $(TEST_ARGS)

bench: $(VENV)/.installed
	$(PY) scripts/dev.py bench

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(PY) scripts/dev.py exec $(PY) manage.py makemigrations --check --dry-run

# Re-extract and compile translations (needs GNU gettext; the compiled .mo files are committed).
messages: $(VENV)/.installed
	$(PY) manage.py makemessages -l zh_Hans -l en --ignore=.venv --ignore=var
	$(PY) manage.py compilemessages --ignore=.venv

clean-var:
	rm -rf var
