# mkd_mm developer entry points. Every target is idempotent: the second run
# reuses .venv (stamp fast path in tools/setup_env.sh), the cached mmcv wheel
# (~/.cache/mkd_mm) and data/demo.
#
#   make demo        set up, make the demo data, run the demo pre-training
#   make test        set up, make the demo data, run the test suite
#   make demo-dmae   the DMAE demo (configs/demo/dmae_demo.py), if present
#   make env | data | clean-env

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

VENV ?= .venv
PY := $(VENV)/bin/python
DATA_DIR ?= data/demo
# The dBOT demo replaces the MAE demo as soon as it exists.
DEMO_CONFIG ?= $(if $(wildcard configs/demo/dbot_demo.py),configs/demo/dbot_demo.py,configs/demo/mae_demo.py)
DEMO_NAME = $(basename $(notdir $(DEMO_CONFIG)))
DMAE_CONFIG ?= configs/demo/dmae_demo.py
DEMO_ARGS ?=
PYTEST_ARGS ?=

.PHONY: all env data demo demo-dmae test clean-env

all: test

env:
	VENV="$(abspath $(VENV))" bash tools/setup_env.sh

data: env
	$(PY) tools/data/make_demo_data.py --out $(DATA_DIR) --if-missing

demo: env data
	@echo "make demo: $(DEMO_CONFIG) -> work_dirs/demo/$(DEMO_NAME)"
	$(PY) tools/train.py $(DEMO_CONFIG) --work-dir work_dirs/demo/$(DEMO_NAME) $(DEMO_ARGS)

demo-dmae: env data
	@if [ -f "$(DMAE_CONFIG)" ]; then \
	  echo "make demo-dmae: $(DMAE_CONFIG)"; \
	  $(PY) tools/train.py $(DMAE_CONFIG) --work-dir work_dirs/demo/$(basename $(notdir $(DMAE_CONFIG))) $(DEMO_ARGS); \
	else \
	  echo "make demo-dmae: $(DMAE_CONFIG) does not exist (yet)" >&2; exit 1; \
	fi

test: env data
	$(PY) -m pytest tests $(PYTEST_ARGS)

clean-env:
	rm -rf $(VENV)
