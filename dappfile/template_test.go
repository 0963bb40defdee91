package dappfile

import (
	"fmt"
	"io/fs"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTemplateFunctions(t *testing.T) {
	t.Parallel()
	opt := ParseOpt{
		BuildArgs: map[string]string{"TAG": "bookworm"},
		Templates: map[string][]byte{
			"common/apt.tmpl": []byte(`{{ define "apt" }}- apt-get update
- apt-get install -y {{ . }}{{ end }}`),
			"version.tmpl": []byte(`v{{ "1.2" | upper }}`),
		},
		ReadFile: func(path string) ([]byte, error) {
			if path == "VERSION" {
				return []byte("42\n"), nil
			}
			return nil, fmt.Errorf("open %s: %w", path, fs.ErrNotExist)
		},
	}
	src := dedent(`
		{{ $pkgs := list "curl" "git" | join " " }}
		dimg: app
		from: debian:{{ env "TAG" }}
		fromCacheVersion: {{ .Files.Get "VERSION" | trim }}-{{ include "version.tmpl" . }}
		docker:
		  ENV:
		    MISSING: "{{ env "NOPE" }}{{ .Files.Get "nope.txt" }}"
		    HOME: {{ expandenv "/home/$TAG" }}
		shell:
		  beforeInstall:
		{{ include "apt" $pkgs | indent 2 }}
		`)
	cfg, warns, err := Parse([]byte(src), opt)
	require.NoError(t, err)
	im := cfg.Images[0]
	require.Equal(t, "debian:bookworm", im.From)
	require.Equal(t, "42-v1.2", im.FromCacheVersion)
	require.Equal(t, []KeyValue{{"MISSING", ""}, {"HOME", "/home/bookworm"}}, im.Docker.Env)
	require.Equal(t, []string{"apt-get update", "apt-get install -y curl git"}, im.Shell.Stages[BeforeInstall].Commands)
	require.Equal(t, 11, im.Shell.Stages[BeforeInstall].Loc.Start.Line, "generated lines map to the include line")
	require.Equal(t, []Warning{{
		Range:   Range{Start: Position{7, 45}, End: Position{7, 45}},
		Message: ".Files.Get \"nope.txt\": file not found, using an empty string",
	}}, warns)
}

func TestTemplateFilesWithoutContext(t *testing.T) {
	t.Parallel()
	cfg, warns, err := Parse([]byte("dimg: a\nfrom: alpine{{ .Files.Get \"x\" }}\n"), ParseOpt{})
	require.NoError(t, err)
	require.Equal(t, "alpine", cfg.Images[0].From)
	require.Len(t, warns, 1)
	require.Equal(t, ".Files.Get \"x\": no build context files are available, using an empty string", warns[0].Message)
	require.Equal(t, 2, warns[0].Range.Start.Line)
}

func TestTemplateErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, input string
		templates   map[string][]byte
		err         string
	}{
		{"unknown function", "dimg: a\n\nfrom: {{ nope }}\n", nil, "Dappfile:3:1: template: function \"nope\" not defined"},
		{"unclosed block", "dimg: a\nfrom: {{ if true }}x\n", nil, "Dappfile:2:7: template: this `{{ if }}` has no `{{ end }}` before the end of the file"},
		{"unclosed block over lines", "dimg: a\n{{ if .A }}\nfrom: x\n{{ range list 1 }}\n{{ end }}\n\n\nshell: {}\n", nil,
			"Dappfile:2:1: template: this `{{ if }}` has no `{{ end }}` before the end of the file"},
		{"two unclosed blocks", "dimg: a\n  {{- with .A }}\n{{- if .B }}\nfrom: x\n", nil,
			"Dappfile:2:3: template: this `{{ with }}` has no `{{ end }}` before the end of the file (2 blocks are open at the end; this is the outermost)"},
		{"unclosed else if chain", "{{ if .A }}\ndimg: a\n{{ else if .B }}\ndimg: b\n{{ else }}\nfrom: x\n", nil,
			"Dappfile:1:1: template: this `{{ if }}` has no `{{ end }}` before the end of the file"},
		{"unclosed define", "{{ define \"x\" }}\ndimg: a\n", nil, "Dappfile:3:1: template: unexpected EOF"},
		{"unclosed block in template file", "{{ include \"a.tmpl\" . }}", map[string][]byte{"a.tmpl": []byte("x\n{{ range .L }}\ny\n")},
			".dappfiles/a.tmpl:2:1: template: this `{{ range }}` has no `{{ end }}` before the end of the file"},
		{"exec error", "dimg: a\nfrom: x\nfromCacheVersion: {{ index 1 2 }}\n", nil, "Dappfile:3:22: template: executing \"Dappfile\" at <index 1 2>: error calling index:"},
		{"unknown include", "dimg: a\nfrom: {{ include \"ap\" . }}\n", map[string][]byte{"apt": nil},
			"Dappfile:2:10: template: executing \"Dappfile\" at <include \"ap\" .>: error calling include: no template \"ap\" (did you mean \"apt\"?)"},
		{"error in template file", "{{ include \"a.tmpl\" . }}", map[string][]byte{"a.tmpl": []byte("\n{{ end }}")},
			".dappfiles/a.tmpl:2:1: template: unexpected {{end}}"},
		{"unset key", "dimg: a\nfrom: {{ .Values.x }}\n", nil,
			"Dappfile:2:17: template: executing \"Dappfile\" at <.Values.x>: key \"Values\" is not set (the template data holds .Files and the keys that `set . \"KEY\" VALUE` added before this line; test an optional key with `hasKey . \"Values\"`; inside range or with, the data is $)"},
		{"unknown field inside range", "{{ range list 1 }}dimg: a\nfrom: {{ .Files.Get \"x\" }}\n{{ end }}", nil,
			"Dappfile:2:16: template: executing \"Dappfile\" at <.Files.Get>: can't evaluate field Files (the template data holds .Files and the keys set with `set . \"KEY\" VALUE`; inside range or with, use $.Files)"},
		{"set on a non-map", "{{ range list 1 }}{{ $_ := set . \"K\" 1 }}{{ end }}", nil,
			"Dappfile:1:32: template: executing \"Dappfile\" at <.>: set, get, hasKey and unset need a map (the template data or a dict), got a value of type int; inside range or with, the template data is $"},
		{"recursive include", "{{ define \"r\" }}{{ include \"r\" . }}{{ end }}{{ include \"r\" . }}", nil, "nested more than 64 levels"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := parseAsDappfile([]byte(tc.input), ParseOpt{Templates: tc.templates})
			require.ErrorContains(t, err, tc.err)
			require.True(t, IsLocationError(err))
		})
	}
}

// TestTemplateRootIsAMap checks dapp's way to share values: `set .` on
// the root map, read back in the file, in included templates and through
// $ inside range/with, with .Files still there.
func TestTemplateRootIsAMap(t *testing.T) {
	t.Parallel()
	opt := ParseOpt{
		Templates: map[string][]byte{
			"base.tmpl": []byte(`{{ define "base" }}{{ $_ := set . "Shell" "sh -c" }}from: {{ .BaseImage }}{{ end }}`),
		},
		ReadFile: func(path string) ([]byte, error) { return []byte("1.2\n"), nil },
	}
	src := dedent(`
		{{ $_ := set . "BaseImage" "alpine:3.19" }}
		{{- $_ := set . "Apps" (list "api" "web") }}
		{{- range .Apps }}
		---
		dimg: {{ . }}
		{{ include "base" $ }}
		fromCacheVersion: {{ $.Files.Get "VERSION" | trim }}
		shell:
		  install: [{{ $.Shell }} true]
		{{- with $.BaseImage }}
		  setup: [echo {{ . }} {{ hasKey $ "Shell" }} {{ get $ "Shell" }}]
		{{- end }}
		{{- end }}
		`)
	cfg, warns, err := Parse([]byte(src), opt)
	require.NoError(t, err)
	require.Empty(t, warns)
	require.Len(t, cfg.Images, 2)
	for i, name := range []string{"api", "web"} {
		im := cfg.Images[i]
		require.Equal(t, name, im.Name)
		require.Equal(t, "alpine:3.19", im.From)
		require.Equal(t, "1.2", im.FromCacheVersion)
		require.Equal(t, []string{"sh -c true"}, im.Shell.Stages[Install].Commands)
		require.Equal(t, []string{"echo alpine:3.19 true sh -c"}, im.Shell.Stages[Setup].Commands)
	}
}

// TestTemplateLineMapping checks that errors after a multi-line include
// point at the original line.
func TestTemplateLineMapping(t *testing.T) {
	t.Parallel()
	opt := ParseOpt{Templates: map[string][]byte{"cmds.tmpl": []byte("- one\n- two\n- three\n- four")}}
	src := dedent(`
		dimg: app
		from: alpine
		shell:
		  install:
		  {{- include "cmds.tmpl" . | nindent 2 }}
		  setup: [make]
		  instal: [typo]
		`)
	_, _, err := parseAsDappfile([]byte(src), opt)
	require.EqualError(t, err, "Dappfile:7:3: unknown key \"instal\" in `shell` (did you mean \"install\"?)")

	src = dedent(`
		dimg: app
		from: alpine
		{{- range $i := until 3 }}
		git:
		- to: /app{{ $i }}
		{{- end }}
		mount:
		- from: tmp_dr
		  to: /tmp
		`)
	_, _, err = parseAsDappfile([]byte(src), ParseOpt{})
	require.ErrorContains(t, err, "Dappfile:4:1: duplicate key \"git\" (first at line 4)")
	require.ErrorContains(t, err, "Dappfile:8:9: `mount[0].from` must be \"build_dir\" or \"tmp_dir\", got \"tmp_dr\"")
}

// TestTemplateUnsetKeyTested checks dapp's and werf's rendering of a key no
// one set: tested, it is false (or nil for default), so optional keys work
// as in real files; printed, it is an error naming the key.
func TestTemplateUnsetKeyTested(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, input string
		templates   map[string][]byte
		from, err   string
	}{
		{name: "if", input: "dimg: a\nfrom: {{ if .Base }}{{ .Base }}{{ else }}alpine{{ end }}\n", from: "alpine"},
		{name: "default", input: "dimg: a\nfrom: {{ .Base | default \"debian\" }}\n", from: "debian"},
		{name: "set later", input: "{{ if not .Base }}{{ $_ := set . \"Base\" \"busybox\" }}{{ end }}dimg: a\nfrom: {{ .Base }}\n", from: "busybox"},
		{name: "in include", input: "dimg: a\nfrom: {{ include \"base.tmpl\" . }}\n",
			templates: map[string][]byte{"base.tmpl": []byte("{{ if hasKey . \"Base\" }}{{ .Base }}{{ else if .Other }}x{{ else }}alpine{{ end }}")}, from: "alpine"},
		{name: "printed", input: "dimg: a\nfrom: alpine\nfromCacheVersion: {{ .Version }}\n",
			err: "Dappfile:3:22: template: executing \"Dappfile\" at <.Version>: key \"Version\" is not set"},
		{name: "printed after a test", input: "dimg: a\nfrom: {{ if .Base }}x{{ end }}alpine\nfromCacheVersion: {{ .Version }}\n",
			err: "Dappfile:3:1: template: this line prints a key no one set (text/template would write \"<no value>\" here)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, _, err := parseAsDappfile([]byte(tc.input), ParseOpt{Templates: tc.templates})
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				require.True(t, IsLocationError(err))
				return
			}
			require.NoError(t, err)
			require.Len(t, cfg.Images, 1)
			require.Equal(t, tc.from, cfg.Images[0].From)
		})
	}
}
