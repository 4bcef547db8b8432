# Rampart developer commands. `make test` is the one CI runs.
GO ?= go
GOFILES = $(shell find . -name '*.go' -not -path './internal/gen/*' -not -path './.git/*')

.PHONY: test fmt-check vet staticcheck gotest build bench run

## test: everything CI checks — formatting, vet, staticcheck, all tests on both backends
test: fmt-check vet staticcheck gotest

fmt-check:
	@out=$$(gofmt -l $(GOFILES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

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
