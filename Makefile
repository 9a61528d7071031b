# TaskFlow. `make run` starts the whole local stack; `make test` runs every test.
SHELL := /bin/bash
GO    ?= go
BIN   := .cache/bin
# `make token USER=alice`: USER from the command line, not the login name.
TOKEN_USER := $(if $(filter command line,$(origin USER)),$(USER),dev-user)

.PHONY: run test check build token vet fmt bench load drill clean

## build: compile every function and the dev tools into .cache/bin
build:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./functions/... ./cmd/...

## run: the whole stack in the foreground (API.md §1); Ctrl-C stops it
run: build
	@export DATABASE_URL="$$(scripts/postgres.sh taskflow)" && \
	 export TASKFLOW_DAPR_BIN="$${TASKFLOW_DAPR_BIN:-$$(scripts/dapr.sh)}" && \
	 exec $(BIN)/taskflow-dev run

## test: every test, against the real PostgreSQL it starts when none answers
test:
	scripts/test.sh

## check: the fast loop: gofmt, vet and the short tests (no drills, whole stack, real Dapr or image builds)
check:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt: $$unformatted" >&2; exit 1; fi
	$(GO) vet ./...
	@export TASKFLOW_TEST_DATABASE_URL="$${TASKFLOW_TEST_DATABASE_URL:-$$(scripts/postgres.sh postgres)}" && \
	 $(GO) test -short -count=1 ./...

## token: a dev token for USER (default dev-user), signed with the secret the stack accepts
token:
	@$(GO) run ./cmd/taskflow-dev token $(TOKEN_USER)

vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

## load: the load tool against the running stack, e.g. make load ARGS="create -clients 32"
load: build
	@export DATABASE_URL="$${DATABASE_URL:-$$(scripts/postgres.sh taskflow)}" && \
	 $(GO) run ./cmd/taskflow-load $(ARGS)

## drill: the fault drills of RELIABILITY.md (ARGS="-outage 10s -faults postgres,kafka")
drill: build
	@export TASKFLOW_DAPR_BIN="$${TASKFLOW_DAPR_BIN:-$$(scripts/dapr.sh)}" && \
	 export TASKFLOW_PG_BIN="$${TASKFLOW_PG_BIN:-$$(scripts/postgres.sh --binaries)}" && \
	 $(GO) run ./cmd/taskflow-drill $(ARGS)

clean:
	rm -rf $(BIN)
