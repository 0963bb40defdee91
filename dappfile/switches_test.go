package dappfile

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAutoCacheSwitch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, doc string
		off       bool
		err       string
	}{
		{name: "absent means on", doc: "dimg: a\nfrom: alpine\n"},
		{name: "explicit off", doc: "dimg: a\nfrom: alpine\nautoCache: false\n", off: true},
		{name: "explicit on", doc: "dimg: a\nfrom: alpine\nautoCache: true\n"},
		{name: "not a boolean", doc: "dimg: a\nfrom: alpine\nautoCache: sometimes\n", err: "Dappfile:3:12: `autoCache` must be true or false"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, _, err := parseAsDappfile([]byte(tc.doc), ParseOpt{})
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.off, cfg.Images[0].NoAutoCache())
		})
	}
}

func TestBuildArgsRead(t *testing.T) {
	t.Parallel()
	doc := "dimg: a\nfrom: {{ env \"BASE\" | default \"alpine\" }}\nshell:\n  install: [echo {{ expandenv \"$TAG-$BASE\" }}]\n"
	cfg, _, err := Parse([]byte(doc), ParseOpt{BuildArgs: map[string]string{"TAG": "v1"}})
	require.NoError(t, err)
	require.Equal(t, []string{"BASE", "TAG"}, cfg.BuildArgs)
	require.Equal(t, "alpine", cfg.Images[0].From)
	require.Equal(t, []string{"echo v1-"}, cfg.Images[0].Shell.Stages[Install].Commands)
}
