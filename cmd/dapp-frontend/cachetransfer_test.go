package main

import (
	"testing"

	"github.com/flant/dapp-frontend/cachemounts"
	"github.com/stretchr/testify/require"
)

func TestParseTransferArgs(t *testing.T) {
	t.Parallel()
	want := cachemounts.TransferOpt{Saved: "/out", MaxSize: 42, Mounts: []cachemounts.TransferMount{{Dir: "a%2Fb", Path: "/dapp-cache/0", NotSaved: []string{"pkgcache.bin", "srcpkgcache.bin"}}, {Dir: "c", Path: "/dapp-cache/1"}}}
	got, err := parseTransferArgs(cachemounts.SaveCommand, want.Args())
	require.NoError(t, err)
	require.Equal(t, want, got, "what Args writes parses back")

	const usage = "usage: cache-save --saved DIR --max-size BYTES [--mount DIR=PATH]... [--not-saved DIR=NAME]..."
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"no saved", []string{"--max-size", "1"}},
		{"no size", []string{"--saved", "/out"}},
		{"mount without path", []string{"--saved", "/out", "--max-size", "1", "--mount", "a"}},
		{"stray argument", []string{"--saved", "/out", "--max-size", "1", "extra"}},
		{"not-saved of no mount", []string{"--saved", "/out", "--max-size", "1", "--mount", "a=/c", "--not-saved", "b=x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseTransferArgs(cachemounts.SaveCommand, tc.args)
			require.EqualError(t, err, usage)
		})
	}
}
