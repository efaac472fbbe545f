# GreenRunner — `make run` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: setup run select test test-unit test-fast bench lint clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

# The web app (and Slack bot, when SLACK_BOT_TOKEN + SLACK_SIGNING_SECRET are set) on the embedded defaults:
# offline demo zoo + offline reasoner. Without a login configured, keep HOST=127.0.0.1 (docs/app.md#login).
run: setup
	$(BIN)/chainlit run ui/app.py --host $(HOST) --port $(PORT) --headless

# The same selection from the command line.
select: setup
	$(BIN)/greenrunner select --use-case "detect digits on parcels from a delivery drone"

# Lint first (seconds), then every test.
test: setup lint
	$(BIN)/python -m pytest -q -ra

test-unit: setup
	$(BIN)/python -m pytest -q -ra tests/unit

# Unit tests without the `integration` marker: the quick check before a commit (README: its time).
test-fast: setup
	$(BIN)/python -m pytest -q -ra -m "not integration" tests/unit

bench: setup
	$(BIN)/python -m bench.run

lint: setup
	$(BIN)/ruff check greenrunner_core tools agent ui bench tests

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
