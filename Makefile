# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ANVIL_VERSION := 1.7.1
CAST_VERSION := 1.7.1
ETHERS_VERSION := 6.17.0

.PHONY: demo test install lint bench clean

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

demo: $(BIN)/claims
	$(BIN)/claims demo

lint: $(BIN)/claims
	$(BIN)/ruff check claimsengine cli tests bench
	$(BIN)/mypy

test: install
	PATH="$(CURDIR)/.tools/node_modules/.bin:$$PATH" $(BIN)/pytest -n 2 -q

bench: install
	PATH="$(CURDIR)/.tools/node_modules/.bin:$$PATH" $(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) .tools .claims
