// Package layering holds the test that keeps the package graph's arrows:
// cmd → frontend → llb → {stages, gitsource, cachemounts} → dappfile, with
// frontend the only package that talks to the BuildKit gateway.
package layering
