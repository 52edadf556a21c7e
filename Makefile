# transformer-kata. Every target sets the environment up on first use (.venv, pinned by
# requirements.txt) and then hands over to the harness, which reads course.toml: module names,
# exercises and experiments are data there, so these rules never list them.
#
##  make test-<module>     visible suite          make grade-<module>   visible + hidden
##  make exp-<module>      experiments            make quiz-<module>    the module's quiz
##  make hint EX=<name>    next hint level        make report           HTML progress report
##  make status            progress, time left    make next             the next exercise
##  make watch             rerun tests on save    make reset EX=<name>  restore a stub (backs yours up)
##  make check             the project's own tests
##  make train             train the capstone LM (~2 min)   make generate   sample from it (ARGS="--prompt ...")
##  IMPL=<package>         test another implementation (default: exercises)

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
KATA   := $(PY) -m kata
# Where pip finds a CPU-only torch if the default index would give a CUDA build (see README).
TORCH_INDEX ?=
# Cache compiled Python (some environments turn it off); a suite's run is mostly start-up time.
unexport PYTHONDONTWRITEBYTECODE
# IMPL defaults to exercises for tests and to reference for experiments (kata decides).
ifdef IMPL
export IMPL
endif

.DEFAULT_GOAL := help
.PHONY: help setup check bench report status next watch reset hint quiz train generate clean-env FORCE

help:
	@sed -n 's/^## \{0,1\}//p' Makefile

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	@echo "Setting up $(VENV) (first run only; about a minute)..."
	@$(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --quiet $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX)) -r requirements.txt
	@touch $@
	@echo "Environment ready."

test-%: setup FORCE
	@$(KATA) test $*

grade-%: setup FORCE
	@$(KATA) grade $*

exp-%: setup FORCE
	@$(KATA) exp $*

quiz-%: setup FORCE
	@$(KATA) quiz $*

quiz: setup
	@$(if $(MODULE),$(KATA) quiz $(MODULE),echo "Which quiz? make quiz-<module>, e.g. make quiz-normalization"; exit 2)

hint: setup
	@$(KATA) hint $(EX)

status: setup
	@$(KATA) status

next: setup
	@$(KATA) next

watch: setup
	@$(KATA) watch

reset: setup
	@$(KATA) reset $(EX)

report: setup
	@$(KATA) report

# The capstone: train TinyLM for about 2 minutes on the shipped text, then sample from it.
# IMPL (exported above) picks the implementation; ARGS passes options, e.g. ARGS="--seconds 30".
train: setup
	@$(PY) -m kata.lm.train $(ARGS)

generate: setup
	@$(PY) -m kata.lm.generate $(ARGS)

bench: setup
	@$(PY) scripts/bench.py

# The project's own tests: reference passes everything, stubs are all "not started", every known
# mistake is rejected, experiments' claims hold in quick mode, and the harness works.
check: setup
	@echo "The project's own tests (reference, stubs, every known mistake, experiments, learner tools, a browser): about 4 minutes on 2 cores."
	@$(PY) -m pytest tests/harness -q -p no:cacheprovider

clean-env:
	rm -rf $(VENV)

FORCE:
