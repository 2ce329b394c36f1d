# The two commands a fresh machine needs: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-sqlite test-postgres install bench clean report-sql

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/djbot demo

# The suite runs twice: on SQLite and, when DJBOT_TEST_POSTGRES_URL names a server, on
# PostgreSQL (each test gets its own schema there); without it the second pass is skipped.
# The two passes run side by side (most of a pass is one Python process on one core), the
# PostgreSQL pass's output kept and printed once the SQLite pass is done; both always run
# to the end, so one CI run shows both results. PARALLEL=0 runs them one after the other.
PARALLEL ?= 1
test: $(STAMP)
	@status=0; pg_pid=; pg_log=; \
	if [ -n "$$DJBOT_TEST_POSTGRES_URL" ] && [ "$(PARALLEL)" = 1 ]; then \
		pg_log=$$(mktemp); \
		echo "== PostgreSQL pass started beside the SQLite pass (its output follows it)"; \
		( DJBOT_TEST_DB=postgres $(BIN)/python -m pytest -p no:cacheprovider $(PYTEST_ARGS) \
			>"$$pg_log" 2>&1 ) & pg_pid=$$!; \
	fi; \
	echo "== SQLite pass"; \
	$(BIN)/python -m pytest $(PYTEST_ARGS) || status=1; \
	if [ -n "$$pg_pid" ]; then \
		wait $$pg_pid || status=1; \
		echo "== PostgreSQL pass"; cat "$$pg_log"; rm -f "$$pg_log"; \
	elif [ -n "$$DJBOT_TEST_POSTGRES_URL" ]; then \
		echo "== PostgreSQL pass"; \
		DJBOT_TEST_DB=postgres $(BIN)/python -m pytest $(PYTEST_ARGS) || status=1; \
	else \
		echo "== PostgreSQL pass SKIPPED: DJBOT_TEST_POSTGRES_URL is not set"; \
	fi; \
	exit $$status

test-sqlite: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-postgres: $(STAMP)
	DJBOT_TEST_DB=postgres $(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache

# storage/report_sql.py: the weekly report's statements compiled for SQLite, which
# `djbot report weekly` runs without loading SQLAlchemy (bot/shell.py). Run after changing
# storage.reports.figure_statements; tests/test_report_quick.py says when it is due.
report-sql: $(STAMP)
	$(BIN)/python -c "from storage.reports import report_sql_module as m; print(m(), end='')" > storage/report_sql.py.new
	mv storage/report_sql.py.new storage/report_sql.py
