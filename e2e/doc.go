// Package e2e holds the end-to-end tests of dapp-frontend. They run against a
// real buildkitd and a loopback registry started by hack/e2e-env.sh, and are
// compiled only with the build tag "e2e":
//
//	make e2e                       # tools + stack + base images + frontend image + tests
//	go test -tags e2e ./e2e/...    # against a stack already described by the env below
//
// Environment (written to STATE_DIR/env by `hack/e2e-env.sh up`):
//
//	BUILDKIT_HOST       buildkitd address, e.g. unix:///…/buildkitd.sock
//	DAPP_E2E_REGISTRY   host:port of the loopback registry holding busybox:latest,
//	                    debian:bookworm (E2E_IMAGES=debian, the default) and dapp-frontend:dev
//	DAPP_E2E_BIN_DIR    where buildctl and buildx are (else they are looked up in PATH)
//	DAPP_E2E_REQUIRED   "1" turns a missing environment into a failure instead of a skip
//
// The helpers (env, newClient, solve, solveOCI, readOCITar, Progress, buildctl,
// newBuildx) take a client.SolveOpt and an optional gateway BuildFunc, so a test
// can build through a builtin frontend (dockerfile.v0), through the frontend
// image (gateway.v0 + source), or in process through frontend.Build.
package e2e
