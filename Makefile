# mkd_mm developer entry points. Every target is idempotent: the second run
# reuses .venv (stamp fast path in tools/setup_env.sh), the cached mmcv wheel
# (~/.cache/mkd_mm) and data/demo.
#
#   make demo        set up, make the demo data, run the demo
#   make test        set up, make the demo data, run the test suite
#   make demo-dmae   the DMAE demo (tools/demo/dmae_demo.py or
#                    configs/demo/dmae_demo.py), if present
#   make env | data | clean-env
#
# The demo is configs/demo/dbot_demo.py when it exists, else
# configs/demo/mae_demo.py (override with DEMO_CONFIG=...). If a driver
# tools/demo/<name>.py exists for it (training + evaluation), it runs that;
# otherwise tools/train.py trains the config. Extra arguments: DEMO_ARGS=...

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

VENV ?= .venv
PY := $(VENV)/bin/python
DATA_DIR ?= data/demo
# The dBOT demo replaces the MAE demo as soon as it exists.
DEMO_CONFIG ?= $(if $(wildcard configs/demo/dbot_demo.py),configs/demo/dbot_demo.py,configs/demo/mae_demo.py)
DEMO_NAME = $(basename $(notdir $(DEMO_CONFIG)))
DEMO_DRIVER = $(wildcard tools/demo/$(DEMO_NAME).py)
DEMO_WORK_DIR = work_dirs/demo/$(DEMO_NAME)
DMAE_CONFIG ?= configs/demo/dmae_demo.py
DMAE_DRIVER = $(wildcard tools/demo/dmae_demo.py)
DEMO_ARGS ?=
PYTEST_ARGS ?=

.PHONY: all env data demo demo-dmae test clean-env

all: test

env:
	VENV="$(abspath $(VENV))" bash tools/setup_env.sh

data: env
	$(PY) tools/data/make_demo_data.py --out $(DATA_DIR) --if-missing

demo: env data
ifneq ($(DEMO_DRIVER),)
	@echo "make demo: $(DEMO_DRIVER) ($(DEMO_CONFIG)) -> $(DEMO_WORK_DIR)"
	$(PY) $(DEMO_DRIVER) --config $(DEMO_CONFIG) --work-dir $(DEMO_WORK_DIR) $(DEMO_ARGS)
else
	@echo "make demo: $(DEMO_CONFIG) -> $(DEMO_WORK_DIR)"
	$(PY) tools/train.py $(DEMO_CONFIG) --work-dir $(DEMO_WORK_DIR) $(DEMO_ARGS)
endif

demo-dmae: env data
ifneq ($(DMAE_DRIVER),)
	@echo "make demo-dmae: $(DMAE_DRIVER) -> work_dirs/demo/dmae_demo"
	$(PY) $(DMAE_DRIVER) --work-dir work_dirs/demo/dmae_demo $(DEMO_ARGS)
else
	@if [ -f "$(DMAE_CONFIG)" ]; then \
	  echo "make demo-dmae: $(DMAE_CONFIG)"; \
	  $(PY) tools/train.py $(DMAE_CONFIG) --work-dir work_dirs/demo/$(basename $(notdir $(DMAE_CONFIG))) $(DEMO_ARGS); \
	else \
	  echo "make demo-dmae: neither tools/demo/dmae_demo.py nor $(DMAE_CONFIG) exists (yet)" >&2; exit 1; \
	fi
endif

test: env data
	$(PY) -m pytest tests $(PYTEST_ARGS)

clean-env:
	rm -rf $(VENV)
