# SkillCert: `make run` serves the demo, `make test` runs the whole suite.
# Both set everything up on a fresh Debian machine (Python 3.11; as root they also
# install the system packages; otherwise they print what to install).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
PYTEST_ARGS ?=
POSTGRES_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/test
export FLASK_APP := wsgi

.PHONY: run test test-postgres setup system-packages system-packages-test clean

# Certificate QR links point at this server unless PUBLIC_BASE_URL says otherwise.
run: export PUBLIC_BASE_URL ?= http://$(HOST):$(PORT)
run: setup
	$(BIN)/flask db upgrade
	$(BIN)/flask exam demo
	@echo ""
	@echo "SkillCert is running: open http://$(HOST):$(PORT)/ and sign in with a demo login above."
	$(BIN)/flask run --host $(HOST) --port $(PORT)

test: setup system-packages-test
	$(BIN)/python -m pytest -n auto $(PYTEST_ARGS)

# The database tests again, against PostgreSQL (skipped with the reason when it is unreachable).
test-postgres: setup
	TEST_DATABASE_URL=$(POSTGRES_TEST_URL) $(BIN)/python -m pytest -n auto $(PYTEST_ARGS)

setup: system-packages $(VENV)/.installed

system-packages:
	@scripts/system-packages.sh run

system-packages-test:
	@scripts/system-packages.sh test

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $@

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .hypothesis
