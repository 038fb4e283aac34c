# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ANVIL_VERSION := 1.7.1
CAST_VERSION := 1.7.1
ETHERS_VERSION := 6.17.0

.PHONY: demo test explore install browser lint bench clean

$(BIN)/claims: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(BIN)/claims

.tools/node_modules/.bin/anvil:
	npm install --silent --no-audit --no-fund --prefix .tools @foundry-rs/anvil@$(ANVIL_VERSION)

.tools/node_modules/.bin/cast: .tools/node_modules/.bin/anvil
	npm install --silent --no-audit --no-fund --prefix .tools @foundry-rs/cast@$(CAST_VERSION)

# ethers: a standard JavaScript client, for the test that `claims node` serves it.
.tools/node_modules/ethers/package.json: .tools/node_modules/.bin/cast
	npm install --silent --no-audit --no-fund --prefix .tools ethers@$(ETHERS_VERSION)

install: $(BIN)/claims .tools/node_modules/.bin/anvil .tools/node_modules/.bin/cast \
	.tools/node_modules/ethers/package.json

# The dashboard's browser tests drive Debian's chromium through Playwright (Playwright's own
# browser download is not used). Root installs it once; without root the tests say why they
# skip (under CI=true they fail instead).
CHROMIUM := /usr/bin/chromium
browser:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      --no-install-recommends chromium fonts-dejavu-core >/dev/null; \
	  else \
	    echo "note: $(CHROMIUM) is missing and installing it needs root:" \
	      "the dashboard's browser tests will be skipped (sudo apt-get install chromium)"; \
	  fi; \
	fi

demo: $(BIN)/claims
	$(BIN)/claims demo

lint: $(BIN)/claims
	$(BIN)/ruff check claimsengine cli tests bench
	$(BIN)/ruff format --check claimsengine cli tests bench
	$(BIN)/mypy

test: install browser
	PATH="$(CURDIR)/.tools/node_modules/.bin:$$PATH" $(BIN)/pytest -n 2 -q \
	  --hypothesis-profile=repeatable

# The property tests (hypothesis) with new examples, ROUNDS runs of them: each run draws its
# own. A failing case prints how to reproduce it and stays in .hypothesis/, where the next
# run tries it first; keep it in the test as an @example once it is fixed.
ROUNDS ?= 5
explore: install
	for round in $$(seq $(ROUNDS)); do \
	  echo "explore: round $$round of $(ROUNDS)"; \
	  PATH="$(CURDIR)/.tools/node_modules/.bin:$$PATH" $(BIN)/pytest -n 2 -q -m hypothesis \
	    --hypothesis-profile=explore || exit 1; \
	done

bench: install
	PATH="$(CURDIR)/.tools/node_modules/.bin:$$PATH" $(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) .tools .claims
