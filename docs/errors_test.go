// Package docs holds the user documentation; its test keeps
// docs/errors.md true.
package docs

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/flant/dapp-frontend/dappfile"
	dappllb "github.com/flant/dapp-frontend/llb"
	bkllb "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	digest "github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/require"
)

// update rewrites the `text error` blocks of errors.md with the messages
// the reader gives now: go test ./docs -run Catalogue -update
var update = flag.Bool("update", false, "rewrite the error blocks of errors.md")

// minEntries is the least the catalogue holds.
const minEntries = 60

// entry is one `###` section of errors.md.
type entry struct {
	title     string
	dappfile  string
	templates map[string][]byte
	files     map[string][]byte
	buildArgs map[string]string
	target    string
	want      string
	// wantLines is where the error block's content starts and ends in
	// the file (0-based, end exclusive), for -update.
	wantStart, wantEnd int
}

// TestErrorCatalogue runs every input of errors.md through the reader and
// the converter, offline, and compares the message with the catalogue's:
// a message that changes without its entry fails here.
func TestErrorCatalogue(t *testing.T) {
	raw, err := os.ReadFile("errors.md")
	require.NoError(t, err)
	lines := strings.Split(string(raw), "\n")
	entries := parseCatalogue(t, lines)
	require.GreaterOrEqual(t, len(entries), minEntries, "the catalogue must hold at least %d inputs", minEntries)
	inputs := map[string]string{}
	for _, e := range entries {
		require.NotEmpty(t, e.dappfile, "entry %q has no Dappfile block", e.title)
		key := e.dappfile + "\x00" + e.target
		require.NotContains(t, inputs, key, "entry %q repeats the input of %q", e.title, inputs[key])
		inputs[key] = e.title
	}
	for i := len(entries) - 1; i >= 0; i-- { // from the end: -update moves later lines
		e := &entries[i]
		got := run(e)
		if *update {
			lines = replaceBlock(lines, e, got)
			continue
		}
		require.NotEmpty(t, got, "entry %q: the input is accepted", e.title)
		require.Equal(t, e.want, got, "entry %q: the message changed; update docs/errors.md (go test ./docs -run Catalogue -update)", e.title)
	}
	if *update {
		require.NoError(t, os.WriteFile("errors.md", []byte(strings.Join(lines, "\n")), 0o644))
	}
}

// parseCatalogue reads the entries: a `### title`, then fenced blocks
// whose info string says what they hold (see the head of errors.md).
func parseCatalogue(t *testing.T, lines []string) []entry {
	var out []entry
	var cur *entry
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if title, ok := strings.CutPrefix(line, "### "); ok {
			out = append(out, entry{title: title, templates: map[string][]byte{}, files: map[string][]byte{}, buildArgs: map[string]string{}})
			cur = &out[len(out)-1]
			continue
		}
		info, ok := strings.CutPrefix(line, "```")
		if !ok || info == "" || cur == nil {
			continue
		}
		start := i + 1
		for i++; i < len(lines) && lines[i] != "```"; i++ {
		}
		require.Less(t, i, len(lines), "unclosed block in entry %q", cur.title)
		body := strings.Join(lines[start:i], "\n")
		if start < i {
			body += "\n"
		}
		addBlock(t, cur, strings.Fields(info), body, start, i)
	}
	return out
}

func addBlock(t *testing.T, e *entry, info []string, body string, start, end int) {
	quoted := len(info) > 1 && info[len(info)-1] == "quoted"
	if quoted {
		info = info[:len(info)-1]
		s, err := strconv.Unquote(strings.TrimSpace(body))
		require.NoError(t, err, "entry %q: a quoted block holds one Go string literal", e.title)
		body = s
	}
	switch {
	case len(info) == 1 && info[0] == "yaml":
		e.dappfile = body
	case len(info) == 2 && info[1] == "error":
		e.want, e.wantStart, e.wantEnd = strings.TrimSuffix(body, "\n"), start, end
	case len(info) == 2 && info[1] == "build-args":
		for _, kv := range strings.Fields(body) {
			k, v, _ := strings.Cut(kv, "=")
			e.buildArgs[k] = v
		}
	case len(info) == 2 && info[1] == "target":
		e.target = strings.TrimSpace(body)
	case len(info) == 2 && strings.HasPrefix(info[1], ".dappfiles/"):
		e.templates[strings.TrimPrefix(info[1], ".dappfiles/")] = []byte(body)
	case len(info) == 2:
		e.files[info[1]] = []byte(body)
	default:
		t.Fatalf("entry %q: unknown block %q", e.title, strings.Join(info, " "))
	}
}

// run reads and converts the entry's input as the llb command would,
// without a daemon, and returns the error message ("" when none).
func run(e *entry) string {
	cfg, _, err := dappfile.Parse([]byte(e.dappfile), dappfile.ParseOpt{
		Filename:  "Dappfile",
		BuildArgs: e.buildArgs,
		Templates: e.templates,
		ReadFile: func(path string) ([]byte, error) {
			if data, ok := e.files[path]; ok {
				return data, nil
			}
			return nil, fs.ErrNotExist
		},
	})
	if err != nil {
		return err.Error()
	}
	_, err = dappllb.Convert(context.Background(), cfg, dappllb.ConvertOpt{
		Target:        e.target,
		ImageResolver: emptyResolver{},
		BuildContext: func(include, exclude []string) (bkllb.State, error) {
			return bkllb.Local("context", bkllb.IncludePatterns(include), bkllb.ExcludePatterns(exclude)), nil
		},
	})
	if err != nil {
		return err.Error()
	}
	return ""
}

// replaceBlock puts got into the entry's error block.
func replaceBlock(lines []string, e *entry, got string) []string {
	if e.wantEnd == 0 {
		return lines
	}
	var out []string
	out = append(out, lines[:e.wantStart]...)
	sc := bufio.NewScanner(strings.NewReader(got))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return append(out, lines[e.wantEnd:]...)
}

// emptyResolver stands in for a registry: every image has an empty config.
type emptyResolver struct{}

func (emptyResolver) ResolveImageConfig(ctx context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	dt, err := json.Marshal(map[string]any{"os": "linux", "architecture": "amd64", "rootfs": map[string]any{"type": "layers"}, "config": map[string]any{}})
	return ref, digest.FromString(ref), dt, err
}
