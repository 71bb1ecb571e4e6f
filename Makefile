# Faultline: `make run` runs the product, `make test` runs lint and every test.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

export FAULTLINE_DATA_DIR ?= $(CURDIR)/data

.PHONY: run test lint unit proto proto-check bench install clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## run: the all-in-one (relay + processor + query + web) on embedded engines
run: $(STAMP)
	$(BIN)/python -m faultline_allinone

## test: lint, then the whole test suite
test: lint $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy libs services tests scripts

## proto: regenerate the committed gRPC/protobuf code from proto/
proto: $(STAMP)
	$(BIN)/python -m grpc_tools.protoc -I proto --python_out=libs/core \
		--pyi_out=libs/core --grpc_python_out=libs/core proto/faultline/v1/query.proto

## bench: load the running all-in-one (start `make run` first)
bench: $(STAMP)
	$(BIN)/python scripts/bench.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
