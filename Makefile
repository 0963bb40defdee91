# dapp-frontend — build, test, end-to-end environment.
#
#   make demo      build examples/basic through the frontend image on a local stack
#   make test      unit tests, then end-to-end tests (own throw-away stack)
#
# The end-to-end stack (buildkitd + loopback registry) lives in STATE_DIR;
# hack/e2e-env.sh does the work, see its header.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

GO        ?= go
GOOS      ?= $(shell $(GO) env GOOS)
GOARCH    ?= $(shell $(GO) env GOARCH)
BIN_DIR   := bin/$(GOOS)_$(GOARCH)
CACHE_DIR := $(CURDIR)/.cache
STATE_DIR ?= $(CACHE_DIR)/e2e
ENVSH     := hack/e2e-env.sh
E2E_FLAGS ?= -count=1 -timeout 40m
# base image sets pushed besides busybox:latest (hack/e2e-env.sh images);
# the cache-mount tests need debian:bookworm (debootstrapped once, then cached)
E2E_IMAGES ?= debian
BENCH     ?= .
# fuzz: time per fuzz target (make test runs each for FUZZTIME_BRIEF).
# make test counts executions instead of time: with a duration, Go 1.26's
# fuzz coordinator can fail a target with a bare "context deadline
# exceeded" at the end of the window on a busy machine (golang/go#75804,
# fixed in Go 1.27), with no failing input; a count sets no deadline.
FUZZTIME  ?= 30s
FUZZTIME_BRIEF ?= 1000x
# runs spent shrinking each new input: keeps slow seeds from stalling a short run
FUZZMINIMIZE ?= 20x
BENCH_FLAGS ?= -timeout 4h
# (BenchmarkApp takes about an hour per round on a loaded 2-core machine)
# BenchmarkApp (e2e/app_bench_test.go): rounds, the proxy's limit in Mbit/s,
# which cases (all, matrix or parallel), where its Markdown report goes
BENCH_ROUNDS ?= 3
BENCH_RATE_MBIT ?= 100
BENCH_CASES ?= all
BENCH_REPORT ?= $(CACHE_DIR)/bench-app.md
BENCH_ENV = DAPP_BENCH_ROUNDS=$(BENCH_ROUNDS) DAPP_BENCH_RATE_MBIT=$(BENCH_RATE_MBIT) \
	DAPP_BENCH_CASES=$(BENCH_CASES) DAPP_BENCH_REPORT=$(BENCH_REPORT)
DEMO_EXAMPLE ?= examples/basic
STOP_HINT := make env-down$(if $(filter $(CACHE_DIR)/e2e,$(STATE_DIR)),, STATE_DIR=$(STATE_DIR))

# on_fresh_stack CMD,WHAT[,SETUP]: start a throw-away stack in a new state
# dir, push the base images and the frontend image, run the e2e-env.sh
# commands SETUP (e.g. dockerfile-frontend-image) on it, run CMD with the
# stack's env, tear the stack down however CMD ends.
define on_fresh_stack
	@mkdir -p $(CACHE_DIR); state=$$(mktemp -d $(CACHE_DIR)/e2e-run.XXXXXX); \
	trap '$(ENVSH) down '"$$state"' --purge' EXIT; \
	trap 'exit 130' INT; trap 'exit 143' TERM; \
	$(ENVSH) up $$state; \
	$(ENVSH) images $$state $(E2E_IMAGES); \
	$(ENVSH) toolchain-image $$state; \
	if [ -d cmd/dapp-frontend ]; then \
		$(ENVSH) frontend-image $$state; \
	else \
		echo "WARNING: no cmd/dapp-frontend yet: dapp-frontend:dev not built; tests needing it will fail"; \
	fi; \
	for setup in $(3); do $(ENVSH) $$setup $$state; done; \
	set -a; . $$state/env; set +a; \
	export DAPP_E2E_REQUIRED=1; \
	start=$$(date +%s); \
	$(1); \
	echo "$(2) took $$(( $$(date +%s) - start ))s"
endef

.PHONY: build unit fuzz vet fmt e2e test demo env-up env-down image toolchain-image tools bench bench-fresh clean

## build: static frontend binary (and any other command) into bin/<os>_<arch>/
build:
	@mkdir -p $(BIN_DIR)
	@if [ -d cmd ]; then \
		CGO_ENABLED=0 GOOS=$(GOOS) GOARCH=$(GOARCH) $(GO) build -trimpath -ldflags='-s -w' -o $(BIN_DIR)/ ./cmd/... ; \
		ls -l $(BIN_DIR); \
	else echo "no cmd/ yet: nothing to build"; fi

## unit: unit tests (the e2e package needs -tags e2e and is not built here)
unit:
	$(GO) test ./...

## fuzz: every fuzz target of the repository for FUZZTIME each (go test
## -fuzz takes one target of one package at a time). Targets are found with
## `go test -list` in the packages whose tests declare a Fuzz function, so
## new ones are picked up without editing this file.
fuzz:
	@pkgs=$$(grep -rl --include='*_test.go' '^func Fuzz' . | grep -v '^./e2e/' | xargs -r -n1 dirname | sort -u); \
	[ -n "$$pkgs" ] || { echo "no fuzz targets"; exit 0; }; \
	for pkg in $$pkgs; do \
		for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "== $$pkg $$target ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) $$pkg; \
		done; \
	done

vet:
	$(GO) vet ./...
	$(GO) vet -tags e2e ./e2e/...

fmt:
	@files=$$(find . -name '*.go' -not -path './.cache/*' -not -path './bin/*'); \
	gofmt -l -w $$files

## tools: apt packages + buildkitd/buildctl/buildx (cached in .cache/bin)
tools:
	$(ENVSH) tools

## env-up: start the stack in STATE_DIR with the base images (no-op when running)
env-up: tools
	@if $(ENVSH) status $(STATE_DIR) >/dev/null 2>&1; then \
		echo "stack already running in $(STATE_DIR)"; \
	else \
		$(ENVSH) up $(STATE_DIR) && $(ENVSH) images $(STATE_DIR) $(E2E_IMAGES) && \
		$(ENVSH) toolchain-image $(STATE_DIR); \
	fi

## env-down: stop the stack in STATE_DIR
env-down:
	$(ENVSH) down $(STATE_DIR)

## image: push the prebuilt frontend to the stack's registry as dapp-frontend:dev
image: build
	$(ENVSH) frontend-image $(STATE_DIR)

## toolchain-image: build the toolchain (toolchain/build.sh; once, cached by
## its inputs in DAPP_E2E_CACHE) and its shell toolchain (toolchain/shell.sh)
## and push both to the stack's registry; their REF@DIGEST land in
## STATE_DIR/env as DAPP_E2E_TOOLCHAIN_IMAGE and DAPP_E2E_SHELL_TOOLCHAIN_IMAGE
toolchain-image:
	$(ENVSH) toolchain-image $(STATE_DIR)

## e2e: tools + a fresh stack + base images + frontend image + e2e tests; the
## stack is torn down however the tests end.
e2e: tools build
	$(call on_fresh_stack,$(GO) test -tags e2e $(E2E_FLAGS) $(if $(V),-v) ./e2e/...,e2e tests)

## test: unit tests, every fuzz target briefly, then e2e tests
test:
	$(MAKE) unit
	$(MAKE) fuzz FUZZTIME=$(FUZZTIME_BRIEF)
	$(MAKE) e2e

## demo: build $(DEMO_EXAMPLE)/Dappfile through the frontend image on the stack
## in STATE_DIR (started when missing, left running) and push the result.
demo: env-up image
	@set -a; . $(STATE_DIR)/env; set +a; \
	ref=$$DAPP_E2E_REGISTRY/dapp-demo/$$(basename $(DEMO_EXAMPLE)):latest; \
	echo "building $(DEMO_EXAMPLE)/Dappfile with frontend $$DAPP_E2E_REGISTRY/dapp-frontend:dev"; \
	$$DAPP_E2E_BIN_DIR/buildctl build --progress=plain \
		--frontend gateway.v0 --opt source=$$DAPP_E2E_REGISTRY/dapp-frontend:dev \
		--local context=$(DEMO_EXAMPLE) --local dockerfile=$(DEMO_EXAMPLE) --opt filename=Dappfile \
		--opt context:busybox=docker-image://$$DAPP_E2E_REGISTRY/busybox:latest \
		--opt context:debian:bookworm=docker-image://$$DAPP_E2E_REGISTRY/debian:bookworm \
		--opt toolchain-image=$$DAPP_E2E_TOOLCHAIN_IMAGE \
		--opt shell-toolchain-image=$$DAPP_E2E_SHELL_TOOLCHAIN_IMAGE \
		--output type=image,name=$$ref,push=true,registry.insecure=true \
		--metadata-file $(STATE_DIR)/demo-metadata.json; \
	echo; \
	echo "image pushed: $$ref"; \
	echo "  digest:     $$(sed -n 's/.*"containerimage.digest": *"\([^"]*\)".*/\1/p' $(STATE_DIR)/demo-metadata.json)"; \
	echo "  manifest:   curl -s -H 'Accept: application/vnd.oci.image.manifest.v1+json' http://$$DAPP_E2E_REGISTRY/v2/dapp-demo/$$(basename $(DEMO_EXAMPLE))/manifests/latest"; \
	echo "  try more:   set -a; . $(STATE_DIR)/env; set +a; $$DAPP_E2E_BIN_DIR/buildctl build --frontend gateway.v0 --opt source=$$DAPP_E2E_REGISTRY/dapp-frontend:dev --opt context:busybox=docker-image://$$DAPP_E2E_REGISTRY/busybox:latest --opt toolchain-image=$$DAPP_E2E_TOOLCHAIN_IMAGE --opt shell-toolchain-image=$$DAPP_E2E_SHELL_TOOLCHAIN_IMAGE --local context=examples/<name> --local dockerfile=examples/<name> --opt filename=Dappfile --output type=oci,dest=/tmp/image.tar"; \
	echo "the stack keeps running (buildkitd $$BUILDKIT_HOST, registry $$DAPP_E2E_REGISTRY); stop it with: $(STOP_HINT)"

## bench: e2e benchmarks (`go test -bench $(BENCH)`, e.g. BENCH=AptSecondBuild,
## BENCH=App for the application benchmark, whose Markdown report lands in
## BENCH_REPORT) on the stack running in STATE_DIR (make env-up image), or
## else on a throw-away stack of their own. Both push BuildKit's Dockerfile
## frontend as an image first (built once, cached with the tools). Not part
## of `make test`.
bench: tools build
	@if $(ENVSH) status $(STATE_DIR) >/dev/null 2>&1; then \
		echo "benchmarks on the stack running in $(STATE_DIR)"; \
		$(ENVSH) dockerfile-frontend-image $(STATE_DIR); \
		set -a; . $(STATE_DIR)/env; set +a; \
		DAPP_E2E_REQUIRED=1 $(BENCH_ENV) $(GO) test -tags e2e -run '^$$' -bench '$(BENCH)' $(BENCH_FLAGS) ./e2e/...; \
	else \
		$(MAKE) --no-print-directory bench-fresh; \
	fi

bench-fresh: tools build
	$(call on_fresh_stack,$(BENCH_ENV) $(GO) test -tags e2e -run '^$$' -bench '$(BENCH)' $(BENCH_FLAGS) ./e2e/...,benchmarks,dockerfile-frontend-image)

clean:
	rm -rf bin
