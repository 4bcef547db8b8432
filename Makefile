# Rampart developer commands. `make test` is the one CI runs.
GO ?= go
GOFILES = $(shell find . -name '*.go' -not -path './internal/gen/*' -not -path './.git/*')

.PHONY: test fmt-check buf-lint gen-check generate vet staticcheck gotest build bench run

## test: everything CI checks — formatting, vet, staticcheck, all tests on both backends
test: fmt-check buf-lint gen-check vet staticcheck gotest

fmt-check:
	@out=$$(gofmt -l $(GOFILES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

buf-lint:
	$(GO) tool -modfile=tools/go.mod buf lint

## generate: regenerate internal/gen from proto/ (committed; never edit by hand)
generate:
	$(GO) tool -modfile=tools/go.mod buf generate

# gen-check fails if the committed generated code differs from proto/.
gen-check:
	@tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && \
	$(GO) tool -modfile=tools/go.mod buf generate -o $$tmp && \
	diff -r $$tmp/internal/gen internal/gen >/dev/null || { echo "internal/gen is stale: run make generate"; exit 1; }

vet:
	$(GO) vet ./...

staticcheck:
	$(GO) tool -modfile=tools/go.mod staticcheck ./...

gotest:
	$(GO) test -count=1 -timeout 20m ./...

## build: the rampart binary in ./bin
build:
	$(GO) build -o bin/rampart ./cmd/rampart

## bench: start-up and other benchmarks (not part of test)
bench:
	$(GO) test -run '^$$' -bench . -benchtime 20x ./bench/...

## run: start a node on the embedded SQLite default
run:
	$(GO) run ./cmd/rampart start
