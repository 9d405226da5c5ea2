# Two entry points: `make demo` and `make test`. Both create .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-test
# The real Claude Code CLI, pinned, for the end-to-end tests against the scripted model server.
CLAUDE_CODE_VERSION := 2.1.197
NPM_PREFIX := $(VENV)/npm
CLAUDE := $(NPM_PREFIX)/node_modules/.bin/claude

.PHONY: demo test lint bench clean bwrap-check chromium-check

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dashboard]'
	touch $@

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

# --keep: the sample repository stays, for `shopfloor dashboard --repo PATH` (the demo's last line).
demo: $(VENV)/.installed
	$(BIN)/shopfloor demo --keep

$(CLAUDE):
	@if command -v npm >/dev/null 2>&1; then \
		npm install --prefix $(NPM_PREFIX) --no-audit --no-fund --loglevel=error \
			@anthropic-ai/claude-code@$(CLAUDE_CODE_VERSION) \
			|| echo "npm install of Claude Code failed: its tests will fail and say so"; \
	else \
		echo "npm not found: the Claude Code tests will fail; install it with: apt-get install nodejs npm"; \
	fi

# bubblewrap: agents and the gate's checks run in its sandbox. Installed when apt-get can (as root);
# otherwise the tests that need it fail and name the package.
bwrap-check:
	@command -v bwrap >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing bubblewrap (apt-get install bubblewrap) ..."; \
			(apt-get install -y -qq bubblewrap >/dev/null 2>&1 || \
			 (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq bubblewrap >/dev/null 2>&1)) \
			|| echo "could not install bubblewrap: the sandbox tests will fail; install it with: apt-get install bubblewrap"; \
		else \
			echo "bubblewrap is not installed: the sandbox tests will fail; install it with: sudo apt-get install bubblewrap"; \
		fi; \
	}

# chromium: the dashboard's browser tests (tests/browser) drive Debian's chromium through Playwright
# (its executable_path; Playwright's own browser download cannot work here, so `playwright install`
# is never run). Installed when apt-get can (as root); otherwise those tests fail and say how.
chromium-check:
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing chromium (apt-get install chromium) ..."; \
			(apt-get install -y -qq chromium >/dev/null 2>&1 || \
			 (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1)) \
			|| echo "could not install chromium: the browser tests will fail; install it with: apt-get install chromium"; \
		else \
			echo "chromium is not installed: the browser tests will fail; install it with: sudo apt-get install chromium"; \
		fi; \
	}

# The suite on four workers (pytest-xdist, from the test extra), even on two cores: it waits on
# subprocesses, sandboxes and floors more than it computes (at -n 2 the cores were busy under half
# the time: 3 min 45 s; at -n 4, 3 min 8 s), and every test is isolated (own tmp_path, tmux server,
# database). worksteal: a worker that runs dry takes tests queued for another.
test: $(STAMP) $(CLAUDE) bwrap-check chromium-check
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -n 4 --dist worksteal

bench: $(STAMP)
	$(BIN)/python bench/tracker_bench.py
	$(BIN)/python bench/workers_bench.py
	$(BIN)/python bench/gate_bench.py
	$(BIN)/python bench/queue_bench.py
	$(BIN)/python bench/floor_bench.py
	$(BIN)/python bench/sandbox_bench.py
	$(BIN)/python bench/flywheel_bench.py
	$(BIN)/python bench/dashboard_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
