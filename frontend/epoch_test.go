package frontend

import (
	"testing"
	"time"

	"github.com/flant/dapp-frontend/dappfile"
	"github.com/pkg/errors"
	"github.com/stretchr/testify/require"
)

func TestSourceDateEpoch(t *testing.T) {
	t.Parallel()
	local := &dappfile.Config{Images: []*dappfile.Image{{Name: "a"}, {Name: "b", Git: []*dappfile.GitMapping{{Add: "/", To: "/app"}}}}}
	remoteOnly := &dappfile.Config{Images: []*dappfile.Image{{Name: "a", Git: []*dappfile.GitMapping{{URL: "https://example.com/r.git", Add: "/", To: "/app"}}}}}
	noGit := &dappfile.Config{Images: []*dappfile.Image{{Name: "a"}}}
	head := time.Date(2024, 5, 6, 7, 8, 9, 500, time.FixedZone("x", 3600))
	tests := []struct {
		name    string
		args    map[string]string
		cfg     *dappfile.Config
		headErr error
		want    string // RFC 3339, empty for no epoch
		err     string
	}{
		{name: "commit time of HEAD, in UTC, whole seconds", cfg: local, want: "2024-05-06T06:08:09Z"},
		{name: "user epoch wins", args: map[string]string{"SOURCE_DATE_EPOCH": "86400"}, cfg: local, want: "1970-01-02T00:00:00Z"},
		{name: "user epoch without git", args: map[string]string{"SOURCE_DATE_EPOCH": "0"}, cfg: noGit, want: "1970-01-01T00:00:00Z"},
		{name: "empty user epoch turns the default off", args: map[string]string{"SOURCE_DATE_EPOCH": ""}, cfg: local},
		{name: "no git mapping of the context", cfg: noGit},
		{name: "remote git mappings only", cfg: remoteOnly},
		{name: "not a number", args: map[string]string{"SOURCE_DATE_EPOCH": "yesterday"}, cfg: local, err: `build arg SOURCE_DATE_EPOCH: "yesterday" is not a time in seconds`},
		{name: "negative", args: map[string]string{"SOURCE_DATE_EPOCH": "-1"}, cfg: local, err: `"-1" is not a time in seconds`},
		{name: "unreadable HEAD", cfg: local, headErr: errors.New("no .git"), err: "failed to read the time of the context repository's HEAD"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			called := false
			got, err := sourceDateEpoch(tc.args, tc.cfg, func() (time.Time, error) {
				called = true
				return head, tc.headErr
			})
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				// Build defers a HEAD failure until the conversion, which
				// locates a missing .git at the git mapping's line.
				var headErr *headTimeError
				require.Equal(t, tc.headErr != nil, errors.As(err, &headErr))
				return
			}
			require.NoError(t, err)
			if tc.want == "" {
				require.Nil(t, got)
				require.False(t, called, "HEAD read though no default epoch is due")
				return
			}
			require.NotNil(t, got)
			require.Equal(t, tc.want, got.Format(time.RFC3339Nano))
		})
	}
}
