# Two entry points for a fresh clone: `make demo` and `make test`.
# Each creates .venv (if needed) and installs every distribution of the
# repository in editable mode. Only Python 3.10+ must be on the machine.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The torch pair is installed first, explicitly, so that pip picks the local
# wheels where a machine has them; override on other machines if you like.
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
# plugins/_template is a folder to copy, not a plugin to install
DISTS  := core $(filter-out plugins/_template/,$(sort $(dir $(wildcard plugins/*/pyproject.toml))))
STAMP  := $(VENV)/.lle-installed

.PHONY: demo test docs manifests lint typecheck bench clean install

install: $(STAMP)

$(STAMP): $(wildcard core/pyproject.toml plugins/*/pyproject.toml) Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -c "import torch, torchvision" 2>/dev/null || \
		$(BIN)/python -m pip install --quiet $(TORCH_SPEC)
	$(BIN)/python -m pip install --quiet $(foreach d,$(DISTS),-e ./$(d)) -e "./core[test,demo,onnx,docs]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/lle demo $(DEMO_ARGS)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy core/src $(wildcard plugins/*/src)
	$(BIN)/lint-imports --no-cache
	$(BIN)/mkdocs build --strict --site-dir .site
	CI=$${CI:-} HF_HUB_OFFLINE=1 $(BIN)/python -m pytest $(PYTEST_ARGS)

# Each package's shipped component descriptions (<package>/components.json), so the first
# `lle list` after an install imports no torch; run after changing a component's parameters,
# summary, paper or capabilities (a test fails until then).
manifests: $(STAMP)
	$(BIN)/python -m lle_core.cli.manifests

# The documentation site (guide + API reference from the docstrings) into .site/; strict: a
# broken link or a docstring that does not match its signature fails the build.
docs: $(STAMP)
	$(BIN)/mkdocs build --strict --site-dir .site

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy core/src $(foreach d,$(wildcard plugins/*/src),$(d))

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .site
