//go:build e2e

package e2e

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// idiomsDappfile shares values the way dapp's documentation does: `set .`
// on the template root, in the file and inside an included template (the
// Marker key is set in .dappfiles/shell.tmpl and read back after the
// include). Its one git mapping adds a single file, renamed, with owner
// and a stage dependency on it.
const idiomsDappfile = `{{ $_ := set . "Base" "busybox:latest" }}
{{- $_ := set . "Conf" "/etc/app/app.conf" }}
dimg: app
from: {{ .Base }}
git:
- add: /conf/nginx.conf
  to: {{ .Conf }}
  owner: app
  stageDependencies:
    install: [nginx.conf]
shell:
{{ include "shell" . | indent 2 }}
docker:
  LABEL:
    marker: {{ .Marker }}
`

const idiomsShellTmpl = `{{ define "shell" }}{{ $_ := set . "Marker" "/installed.conf" -}}
install:
- cp {{ .Conf }} {{ .Marker }}
setup:
- ls -ln {{ .Conf }} > /setup.txt
{{- end }}`

// TestDappIdiomsSetRootAndFileMapping: the template root is a map (`set .`
// in the file and in an included template), and `git: - add:` of one file
// puts it at `to` under another name, owned by the mapping's owner; a
// commit that changes only its neighbours leaves install cached, one that
// changes the file reruns install with the new content.
func TestDappIdiomsSetRootAndFileMapping(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	r := newGitRepo(t)
	v1 := "worker_processes 1; # " + gitNonce() + "\n"
	r.write("conf/nginx.conf", v1, 0o644)
	r.write("conf/other.conf", "other 1\n", 0o644)
	r.write(".dappfiles/shell.tmpl", idiomsShellTmpl, 0o644)
	r.commit("init")
	df := dappDir(t, idiomsDappfile)

	img, prog, _ := dappBuild(t, c, r.dir, df, nil)
	require.Equal(t, 1, ranCount(prog, "[app] install"))
	require.Equal(t, "/installed.conf", img.Config.Config.Labels["marker"], "a key set inside the included template")
	conf := img.File(t, "/etc/app/app.conf")
	require.Equal(t, v1, string(conf.Content))
	require.Equal(t, 1000, conf.UID, "owner app")
	require.Equal(t, 0, img.File(t, "/etc/app").UID, "the directory `to` lands in keeps the image's owner")
	require.False(t, img.Exists(t, "/etc/app/nginx.conf"), "renamed, not copied under its own name")
	require.False(t, img.Exists(t, "/etc/app/app.conf/nginx.conf"))
	require.False(t, img.Exists(t, "/etc/app/other.conf"), "only the one file")
	require.Equal(t, v1, string(img.File(t, "/installed.conf").Content))

	r.write("conf/other.conf", "other 2\n", 0o644)
	r.commit("a neighbour changes")
	img, prog, _ = dappBuild(t, c, r.dir, df, nil)
	require.Equal(t, 0, ranCount(prog, "[app] install"), "install is cached:\n%s", prog.Dump())
	require.True(t, prog.Cached(t, "[app] install"))
	require.Equal(t, v1, string(img.File(t, "/etc/app/app.conf").Content))

	v2 := "worker_processes 2; # " + gitNonce() + "\n"
	r.write("conf/nginx.conf", v2, 0o644)
	r.commit("the file changes")
	img, prog, _ = dappBuild(t, c, r.dir, df, nil)
	require.Equal(t, 1, ranCount(prog, "[app] install"), "install reruns once:\n%s", prog.Dump())
	require.NotEmpty(t, prog.Find("[app] gitPatch: before install"))
	require.Equal(t, v2, string(img.File(t, "/installed.conf").Content), "install saw the new file")
	conf = img.File(t, "/etc/app/app.conf")
	require.Equal(t, v2, string(conf.Content))
	require.Equal(t, 1000, conf.UID)

	// dev mode copies the working tree's file to the same path
	dirty := "worker_processes 3; # not committed " + gitNonce() + "\n"
	r.write("conf/nginx.conf", dirty, 0o644)
	img, _, _ = dappBuild(t, c, r.dir, df, map[string]string{"dev": "true"})
	conf = img.File(t, "/etc/app/app.conf")
	require.Equal(t, dirty, string(conf.Content))
	require.Equal(t, 1000, conf.UID)
	require.False(t, img.Exists(t, "/etc/app/app.conf/nginx.conf"))
}
