package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDumpLLB(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	require.NoError(t, dumpLLB([]string{"--context", "../../examples/multi-image", "--target", "api"}, &out))
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var op struct {
			Op         map[string]any
			Digest     string
			OpMetadata struct {
				Description map[string]string `json:"description"`
			}
		}
		require.NoError(t, json.Unmarshal([]byte(line), &op), line)
		require.True(t, strings.HasPrefix(op.Digest, "sha256:"))
		if n := op.OpMetadata.Description["llb.customname"]; n != "" {
			names = append(names, n)
		}
	}
	require.Equal(t, []string{
		"from docker.io/library/busybox:latest",
		`[base] beforeInstall: mkdir -p /opt/base && echo "shared base" > /opt/base/README`,
		"[api] install: echo api > /opt/base/api.txt",
	}, names)
}

func TestDumpLLBErrors(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	err := dumpLLB([]string{"--context", "../../examples/multi-image"}, &out)
	require.ErrorContains(t, err, "pick one with --target NAME")
	err = dumpLLB([]string{"--context", t.TempDir()}, &out)
	require.ErrorContains(t, err, "no Dappfile in")
}
