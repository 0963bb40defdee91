package dappfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// writeTree creates files (name → content) below a new directory; a
// content starting with "->" makes a symlink to the rest.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		if target, ok := cutPrefix(content, "->"); ok {
			require.NoError(t, os.Symlink(target, p))
			continue
		}
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	return dir
}

func cutPrefix(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && s[:len(prefix)] == prefix {
		return s[len(prefix):], true
	}
	return s, false
}

func TestFindFile(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string
		err   string
	}{
		{name: "Dappfile first", files: map[string]string{"Dappfile": "", "dappfile.yaml": ""}, want: "Dappfile"},
		{name: "yaml before yml", files: map[string]string{"dappfile.yml": "", "dappfile.yaml": ""}, want: "dappfile.yaml"},
		{name: "yml", files: map[string]string{"dappfile.yml": ""}, want: "dappfile.yml"},
		{name: "werf after dapp", files: map[string]string{"werf.yaml": "", "dappfile.yml": ""}, want: "dappfile.yml"},
		{name: "werf", files: map[string]string{"werf.yml": ""}, want: "werf.yml"},
		{name: "ruby Dappfile beside yaml", files: map[string]string{"Dappfile": "dimg_group do\n  dimg 'a' do\n  end\nend\n", "werf.yaml": ""}, want: "werf.yaml"},
		{name: "ruby Dappfile alone", files: map[string]string{"Dappfile": "dimg 'a' do\nend\n"}, want: "Dappfile"},
		{name: "none", files: map[string]string{"Dockerfile": ""}, err: "no Dappfile or werf.yaml found: looked for Dappfile, dappfile.yaml, dappfile.yml, werf.yaml, werf.yml"},
		{name: "dangling link", files: map[string]string{"Dappfile": "->/nonexistent"}, err: "no Dappfile or werf.yaml found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := FindFile(DirFS(writeTree(t, tc.files)))
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				require.True(t, errors.Is(err, ErrNoFile))
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestReadTemplates(t *testing.T) {
	t.Parallel()
	outside := writeTree(t, map[string]string{"secret.tmpl": "SECRET", "dir/x.tmpl": "SECRET"})
	dir := writeTree(t, map[string]string{
		".dappfiles/a.tmpl":          "A",
		".dappfiles/common/b.tmpl":   "B",
		".dappfiles/notes.txt":       "not a template",
		".dappfiles/link.tmpl":       "->a.tmpl",
		".dappfiles/escape.tmpl":     "->" + filepath.Join(outside, "secret.tmpl"),
		".dappfiles/linkdir":         "->" + filepath.Join(outside, "dir"),
		"elsewhere/c.tmpl":           "C",
		".dappfiles/deep/er/er.tmpl": "D",
		".werf/w.tmpl":               "W",
	})
	got, paths, err := ReadTemplates(DirFS(dir))
	require.NoError(t, err)
	// Symlinks are neither read nor walked, as BuildKit transfers them.
	require.Equal(t, map[string][]byte{"a.tmpl": []byte("A"), "common/b.tmpl": []byte("B"), "deep/er/er.tmpl": []byte("D"), "w.tmpl": []byte("W")}, got)
	require.Equal(t, map[string]string{"a.tmpl": ".dappfiles/a.tmpl", "common/b.tmpl": ".dappfiles/common/b.tmpl", "deep/er/er.tmpl": ".dappfiles/deep/er/er.tmpl", "w.tmpl": ".werf/w.tmpl"}, paths)

	got, _, err = ReadTemplates(DirFS(t.TempDir()))
	require.NoError(t, err, "no template folder is no error")
	require.Empty(t, got)

	_, _, err = ReadTemplates(DirFS(writeTree(t, map[string]string{".dappfiles/x.tmpl": "1", ".werf/x.tmpl": "2"})))
	require.ErrorContains(t, err, `template "x.tmpl" is both .dappfiles/x.tmpl and .werf/x.tmpl`)
}

// TestLoadContextReads: `.Files.Get` reads only the build context, the
// same through DirFS as through BuildKit (issue 11's reproducers).
func TestLoadContextReads(t *testing.T) {
	t.Parallel()
	outside := writeTree(t, map[string]string{"secret": "SECRET"})
	secret := filepath.Join(outside, "secret")
	dir := writeTree(t, map[string]string{
		"VERSION":    "1.0",
		"abs-link":   "->" + secret,
		"rel-link":   "->../../../../../../../../" + secret,
		"inner-link": "->VERSION",
	})
	load := func(arg string) (string, []Warning, error) {
		cfg, warns, err := Load([]byte("dimg: a\nfrom: alpine\nfromCacheVersion: x{{ .Files.Get "+arg+" }}\n"), LoadOpt{Context: DirFS(dir)})
		if err != nil {
			return "", warns, err
		}
		return cfg.Images[0].FromCacheVersion, warns, nil
	}
	for _, tc := range []struct {
		name, arg, want, warn, err string
	}{
		{name: "file", arg: `"VERSION"`, want: "x1.0"},
		{name: "dot slash", arg: `"./VERSION"`, want: "x1.0"},
		{name: "link inside", arg: `"inner-link"`, want: "x1.0"},
		{name: "absolute link", arg: `"abs-link"`, want: "x", warn: `.Files.Get "abs-link": file not found`},
		{name: "relative link out", arg: `"rel-link"`, want: "x", warn: `.Files.Get "rel-link": file not found`},
		{name: "absolute path", arg: `"` + secret + `"`, err: `3:29: template: executing "Dappfile" at <.Files.Get>: error calling Get: .Files.Get "` + secret + `": an absolute path`},
		{name: "dot dot", arg: `"../../../../../../../..` + secret + `"`, err: "the path leads outside the build context"},
		{name: "dot dot inside", arg: `"a/../../VERSION"`, err: "the path leads outside the build context"},
		{name: "directory", arg: `"."`, err: "not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, warns, err := load(tc.arg)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				require.True(t, IsLocationError(err))
				require.Len(t, Locations(err), 1)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			if tc.warn == "" {
				require.Empty(t, warns)
			} else {
				require.Len(t, warns, 1)
				require.Contains(t, warns[0].Message, tc.warn)
			}
		})
	}
}

func TestDirFSRefusesInvalidNames(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{"a": "A"})
	for _, name := range []string{"/a", "../a", "./a", "a/"} {
		_, err := DirFS(dir).ReadFile(name)
		require.Error(t, err, name)
	}
}

// countingFS counts the reads Load makes of a context.
type countingFS struct {
	FS
	reads int
}

func (c *countingFS) ReadFile(name string) ([]byte, error) { c.reads++; return c.FS.ReadFile(name) }
func (c *countingFS) ReadDir(name string) ([]fs.DirEntry, error) {
	c.reads++
	return c.FS.ReadDir(name)
}

// TestLoadReadsTemplatesOnlyForActions: a Dappfile without a template
// action reads nothing of the context (in a frontend, each read is a
// transfer), even beside a template that does not parse; one with an
// action reads the templates, and that template fails it.
func TestLoadReadsTemplatesOnlyForActions(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{
		".dappfiles/base.tmpl":   `{{ define "base" }}from: alpine{{ end }}`,
		".dappfiles/broken.tmpl": `{{ if }}`,
	})
	for _, tc := range []struct {
		name, data string
		reads      bool
		err        string
	}{
		{name: "plain", data: "dimg: app\nfrom: alpine\n"},
		{name: "an action", data: "dimg: app\n{{ include \"base\" . }}\n", reads: true, err: "broken.tmpl"},
		{name: "braces in a comment", data: "# {{ \"\" }}\ndimg: app\nfrom: alpine\n", reads: true, err: "broken.tmpl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := &countingFS{FS: DirFS(dir)}
			cfg, _, err := Load([]byte(tc.data), LoadOpt{Context: ctx})
			require.Equal(t, tc.reads, ctx.reads > 0, "reads: %d", ctx.reads)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, "alpine", cfg.Images[0].From)
		})
	}
}
