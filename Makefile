# Faultline: `make run` runs the product, `make test` runs lint and every test.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

export FAULTLINE_DATA_DIR ?= $(CURDIR)/data

.PHONY: run test lint proto bench bench-distributed install native clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: native

## native: compile the normalise + group path with mypyc (a no-op when current; without
##         a C compiler, or with FAULTLINE_PURE_PYTHON=1, the pure-Python modules run)
native: $(STAMP)
	$(BIN)/python scripts/build_native.py

## run: the all-in-one (relay + processor + query + web) on embedded engines
run: native
	$(BIN)/python -m faultline_allinone

## test: lint, then the whole test suite (on the compiled build when there is one)
test: lint native
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy libs services tests scripts

## proto: regenerate the committed gRPC/protobuf code from proto/
proto: $(STAMP)
	$(BIN)/python -m grpc_tools.protoc -I proto --python_out=libs/core \
		--pyi_out=libs/core --grpc_python_out=libs/core proto/faultline/v1/query.proto

## bench: load the running all-in-one (start `make run` first)
bench: native
	$(BIN)/python scripts/bench.py

## bench-distributed: start the real infrastructure and the four services, then load them
bench-distributed: native
	PYTHONPATH=. $(BIN)/python -m scripts.bench_distributed

.PHONY: infra-up infra-down infra-status

## infra-up: PostgreSQL, ClickHouse and Kafka on 127.0.0.1 in the background (distributed
## mode); `source .infra/env` then points the services at them
infra-up: $(STAMP)
	$(BIN)/python scripts/infra.py up

## infra-down: stop what infra-up started and delete its data
infra-down: $(STAMP)
	$(BIN)/python scripts/infra.py down

## infra-status: what infra-up started, and whether it still runs
infra-status: $(STAMP)
	$(BIN)/python scripts/infra.py status

clean:
	$(BIN)/python scripts/build_native.py --remove || true
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build/native

.PHONY: fuzz

## fuzz: the parser property tests (envelopes, normaliser, item handlers, multipart) with many
##       more random examples than `make test` runs
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=long $(BIN)/python -m pytest -p no:cacheprovider \
		tests/unit/test_fuzz_parsers.py tests/unit/processor/test_fuzz_items.py \
		tests/unit/relay/test_multipart.py
