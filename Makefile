# Two entry points: `make demo` and `make test`. Both create .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-test
# The real Claude Code CLI, pinned, for the end-to-end tests against the scripted model server.
CLAUDE_CODE_VERSION := 2.1.197
NPM_PREFIX := $(VENV)/npm
CLAUDE := $(NPM_PREFIX)/node_modules/.bin/claude

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/shopfloor demo

$(CLAUDE):
	@if command -v npm >/dev/null 2>&1; then \
		npm install --prefix $(NPM_PREFIX) --no-audit --no-fund --loglevel=error \
			@anthropic-ai/claude-code@$(CLAUDE_CODE_VERSION) \
			|| echo "npm install of Claude Code failed: its tests will fail and say so"; \
	else \
		echo "npm not found: the Claude Code tests will fail; install it with: apt-get install nodejs npm"; \
	fi

test: $(STAMP) $(CLAUDE)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/tracker_bench.py
	$(BIN)/python bench/workers_bench.py
	$(BIN)/python bench/gate_bench.py
	$(BIN)/python bench/queue_bench.py
	$(BIN)/python bench/floor_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
