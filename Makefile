# The README's two commands: `make run` (the connector on its embedded defaults) and `make test`.
# Both create the virtualenv, install the pinned requirements and the project itself (editable) first;
# the stamp changes with the requirements, pyproject.toml and the set of top-level packages.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed-$(shell (cat requirements.txt requirements-dev.txt pyproject.toml; ls -d */__init__.py) | cksum | cut -d' ' -f1)

.PHONY: run test lint bench bench-console

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@echo "setting up $(VENV): the pinned requirements, then the project itself (editable; about a minute the first time)"
	$(PYTHON) -m venv $(VENV)
	@# One line per package as pip gets to it (the whole output in $(VENV)/pip.log; on failure, shown).
	@rm -f $(VENV)/pip.failed; { $(VENV)/bin/pip install --disable-pip-version-check -r requirements.txt -r requirements-dev.txt 2>&1 || touch $(VENV)/pip.failed; } | tee $(VENV)/pip.log | grep --line-buffered -E '^(Collecting|Processing|Installing collected|Successfully installed)' | cut -c1-100; if [ -e $(VENV)/pip.failed ]; then cat $(VENV)/pip.log; exit 1; fi
	$(VENV)/bin/pip install -q --disable-pip-version-check --no-deps -e . >>$(VENV)/pip.log 2>&1 || { cat $(VENV)/pip.log; exit 1; }
	rm -f $(VENV)/.installed-* && touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/python server.py --demo

test: $(STAMP)
	.ci/ensure-tools
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/python -m pytest -x -q -n 2 --dist loadscope
	.ci/compat 3.12 3.13

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: $(STAMP)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements-bench.txt >$(VENV)/pip-bench.log 2>&1 || { cat $(VENV)/pip-bench.log; exit 1; }
	$(VENV)/bin/python bench/bench_edxml.py
	$(VENV)/bin/python bench/bench_signing.py
	$(VENV)/bin/python bench/bench_limits.py

# The console's pages on a month of traffic (PostgreSQL on 127.0.0.1:5432, role postgres): ~5 minutes,
# most of it loading 100,000 exchanges; kept out of `make bench` for that reason.
bench-console: $(STAMP)
	$(VENV)/bin/python bench/bench_console.py
