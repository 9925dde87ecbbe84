# Two commands for a newcomer: `make run` and `make test`. Both create the virtualenv on first use.
# `make package STAGE=dev` writes the deployable template to var/package/<stage> (docs/deploy.md).
PYTHON ?= python3
STAGE ?= dev
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench package clean

$(STAMP): requirements.txt requirements-edge.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet 'pip<26.3'  # chalice 1.34 drives pip for packaging and supports < 26.3
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m devstack

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) bench/run_all.py  # every bench: bench/results.json, bench/RESULTS.md, bench/latency_histogram.png

package: $(STAMP)
	$(PY) -m infra.package --stage $(STAGE) --out var/package/$(STAGE)

clean:
	rm -rf $(VENV) var .pytest_cache .chalice/deployments
