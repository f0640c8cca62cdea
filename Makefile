# Bizloom: `make run` to use it, `make test` to check it. Everything else is a helper.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test install lint unit bench lock messages clean

run: install ## install, migrate, load the demo company on first run, start web + worker + scheduler
	$(BIN)/bizloom run

test: install ## lint, type-check, layer contract, migrations check, suite on SQLite then PostgreSQL
	scripts/test.sh

install: $(STAMP) node_modules/.package-lock.json

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Bizloom needs Python 3.11 or newer")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	rm -f $(VENV)/.installed-*
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

lint: install ## static checks only
	scripts/test.sh --lint-only

bench: install ## benchmarks in bench/ (one JSON line each; they measure, never assert)
	$(BIN)/python bench/run.py

lock: ## re-resolve dependencies after editing pyproject.toml
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra redis --python-version 3.11 -q -o requirements.lock

messages: install ## refresh and compile the translation catalogues (needs GNU gettext)
	cd bizloom && ../$(BIN)/django-admin makemessages --settings=bizloom.settings -l zh_Hans -l zh_Hant -l en --no-obsolete --ignore 'tests/*'
	$(BIN)/python scripts/compile_messages.py

clean:
	rm -rf $(VENV) node_modules var/static
