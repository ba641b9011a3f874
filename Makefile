# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
EXAMPLE := examples/coalition-air-defence.yaml
REPORT  := report.md
PLAN    := plan.csv
CURVE   := curve.png
OVER_TIME := availability-over-time.png
HTML    := report.html
OVER_TIME_PLAN := over-time-plan.csv
NEXT_EXAMPLE := examples/coalition-next.yaml
NEXT_PLAN := next-plan.csv
NEXT_HTML := next.html
NEXT_BUDGET := 1e7
TARGET  := 0.9

CHROMIUM := /usr/bin/chromium

.PHONY: run test lint browser postgres bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[all]"
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/sustain evaluate $(EXAMPLE)
	$(BIN)/sustain optimize $(EXAMPLE) --target $(TARGET) -o $(REPORT) -o $(HTML) --curve $(CURVE) --quiet
	$(BIN)/sustain optimize $(EXAMPLE) --target $(TARGET) -o $(PLAN) --quiet
	$(BIN)/sustain evaluate $(EXAMPLE) --over-time --days 730 --plot $(OVER_TIME) \
		--target $(TARGET) --quiet
	$(BIN)/sustain optimize $(EXAMPLE) --over-time --days 730 --step 28 --target $(TARGET) \
		--allow-shortfall -o $(OVER_TIME_PLAN) --quiet
	$(BIN)/sustain next $(NEXT_EXAMPLE) --budget $(NEXT_BUDGET) --days 730 --step 28 \
		-o $(NEXT_PLAN) -o $(NEXT_HTML) --quiet
	@echo "report (readiness after buying to $(TARGET), purchases) written to $(REPORT),"
	@echo "and with interactive charts to $(HTML) (one file, works offline);"
	@echo "stock plan written to $(PLAN); efficient curve plotted in $(CURVE);"
	@echo "availability over two years (deliveries, tempo surge) plotted in $(OVER_TIME);"
	@echo "purchases with need-by and order-by days to hold $(TARGET) over time: $(OVER_TIME_PLAN)"
	@echo "what to deliver next for $(NEXT_BUDGET) (systems, spares and consumables offered, in order, with"
	@echo "the reason for each): $(NEXT_PLAN), and with the frontier chart: $(NEXT_HTML)"
	@echo "the same runs from a browser or script: $(BIN)/sustain serve, then"
	@echo "http://127.0.0.1:8000/docs (the JSON API; docs/web.md)"

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

# The HTML report's browser test drives Debian's chromium (never a downloaded browser):
# installed here when missing, as root where apt-get exists; without it that test skips.
browser:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "installing chromium (Debian) for the HTML report's browser test"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium \
	      >/dev/null || echo "chromium not installed: the browser test will skip"; \
	  else \
	    echo "no $(CHROMIUM) (Debian package chromium): the browser test will skip"; \
	  fi; \
	fi

# The web app's history tests also run on a PostgreSQL server they start themselves from
# Debian's binaries (initdb, pg_ctl): installed here when missing, as root where apt-get
# exists; without them those tests skip.
postgres:
	@if ! command -v pg_config >/dev/null 2>&1 || [ ! -x "$$(pg_config --bindir)/initdb" ]; then \
	  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	    if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	      echo "installing postgresql (Debian) for the web app's PostgreSQL tests"; \
	      export DEBIAN_FRONTEND=noninteractive; \
	      apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql \
	        >/dev/null || echo "postgresql not installed: the PostgreSQL tests will skip"; \
	    else \
	      echo "no PostgreSQL server binaries (Debian package postgresql): those tests will skip"; \
	    fi; \
	  fi; \
	fi

test: lint browser postgres
	$(BIN)/pytest

# The simulator's benchmark measures against SimPy, a development extra.
bench: $(VENV)/.dev-installed
	$(BIN)/python benchmarks/evaluate.py
	$(BIN)/python benchmarks/drivers.py
	$(BIN)/python benchmarks/over_time.py
	$(BIN)/python benchmarks/optimize.py
	$(BIN)/python benchmarks/simulate.py
	$(BIN)/python benchmarks/stockpile.py
	$(BIN)/python benchmarks/next.py
	$(BIN)/python benchmarks/sweep.py
	$(BIN)/python benchmarks/startup.py
	$(BIN)/python benchmarks/web_load.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
