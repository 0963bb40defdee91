package cachemounts

import (
	"strconv"
	"testing"

	"github.com/flant/dapp-frontend/dappfile"
	"github.com/stretchr/testify/require"
)

func TestFromDirectives(t *testing.T) {
	t.Parallel()
	loc := dappfile.Range{Start: dappfile.Position{Line: 7, Column: 3}}
	tests := []struct {
		name  string
		in    []*dappfile.Mount
		opt   Opt
		want  []string
		warns []string
		err   string
	}{
		{
			name: "all kinds",
			in: []*dappfile.Mount{
				{From: dappfile.MountTmpDir, To: "/tmp/build"},
				{From: dappfile.MountBuildDir, To: "/var/cache/build/"},
				{From: dappfile.MountFromPath, FromPath: "/host/data", To: "/data", Loc: loc},
			},
			opt: Opt{Project: "my shop", Namespace: "ci"},
			want: []string{
				"/data cache ci/dapp/project/my_shop/fromPath/host/data shared",
				"/tmp/build tmp",
				"/var/cache/build cache ci/dapp/project/my_shop/build_dir/var/cache/build shared",
			},
			warns: []string{`7: fromPath "/host/data": BuildKit cannot bind host paths; /data is a persistent build cache (id "ci/dapp/project/my_shop/fromPath/host/data") instead, empty until a build writes to it`},
		},
		{
			name: "default project, non-root user",
			in:   []*dappfile.Mount{{From: dappfile.MountBuildDir, To: "/cache"}, {From: dappfile.MountTmpDir, To: "/t"}},
			opt:  Opt{UID: 1000, GID: 100},
			want: []string{
				"/cache cache dapp/project/default/build_dir/cache/uid-1000-gid-100 shared 1000:100",
				"/t tmp 1000:100",
			},
		},
		{
			name: "root target",
			in:   []*dappfile.Mount{{From: dappfile.MountBuildDir, To: "/", Loc: loc}},
			err:  "7:3: mount target cannot be the root directory",
		},
		{
			name: "unknown from",
			in:   []*dappfile.Mount{{From: "build", To: "/x", Loc: loc}},
			err:  `7:3: unknown mount source "build" (expected build_dir, tmp_dir or fromPath)`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ms, warns, err := FromDirectives(tc.in, tc.opt)
			if tc.err != "" {
				require.EqualError(t, err, tc.err)
				require.Equal(t, []dappfile.Range{loc}, dappfile.Locations(err))
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, summary(ms))
			var got []string
			for _, w := range warns {
				got = append(got, strconv.Itoa(w.Range.Start.Line)+": "+w.Message)
			}
			require.Equal(t, tc.warns, got)
			for _, m := range ms {
				require.True(t, m.Directive)
			}
		})
	}
}

func TestMergeAndMountPoints(t *testing.T) {
	t.Parallel()
	dirs, _, err := FromDirectives([]*dappfile.Mount{
		{From: dappfile.MountBuildDir, To: "/var/cache/apt"},
		{From: dappfile.MountTmpDir, To: "/tmp/x"},
	}, Opt{Project: "p"})
	require.NoError(t, err)
	auto := Detect([]string{"apt-get update"}, Opt{Auto: true})
	got := Merge(dirs, auto)
	require.Equal(t, []string{
		"/etc/apt/apt.conf.d/docker-clean file",
		"/etc/apt/apt.conf.d/zz-dapp-frontend-cache file",
		"/tmp/x tmp",
		"/var/cache/apt cache dapp/project/p/build_dir/var/cache/apt shared",
		"/var/lib/apt/lists cache dapp/auto/apt/lists private",
	}, summary(got))
	require.Equal(t, []string{"/tmp/x", "/var/cache/apt"}, MountPoints(got))
}
