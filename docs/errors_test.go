// Package docs holds the user documentation; its test keeps
// docs/errors.md true.
package docs

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flant/dapp-frontend/dappfile"
	"github.com/flant/dapp-frontend/gitsource"
	dappllb "github.com/flant/dapp-frontend/llb"
	"github.com/go-git/go-billy/v5/memfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage/filesystem"
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
	// gitTree is the HEAD commit's tree of the context's repository
	// (see gitRepo); "" means no repository.
	gitTree string
	want    string
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
		key := e.dappfile + "\x00" + e.target + "\x00" + e.gitTree
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
	case len(info) == 2 && info[1] == "git-tree":
		e.gitTree = body
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
		// errors leave here: named as the frontend and the llb command name them
		return dappfile.WithFilename(err, "Dappfile").Error()
	}
	opt := dappllb.ConvertOpt{
		Target:        e.target,
		ImageResolver: emptyResolver{},
		BuildContext: func(include, exclude []string) (bkllb.State, error) {
			return bkllb.Local("context", bkllb.IncludePatterns(include), bkllb.ExcludePatterns(exclude)), nil
		},
	}
	if e.gitTree != "" {
		opt.Git.Repo = func(context.Context) (*gitsource.Repo, error) { return gitRepo(e.gitTree) }
	}
	_, err = dappllb.Convert(context.Background(), cfg, opt)
	if err != nil {
		return dappfile.WithFilename(err, "Dappfile").Error()
	}
	return ""
}

// gitRepo is an in-memory repository whose HEAD commit has the tree
// described, written byte by byte as a crafted object would be (any
// names, any order, names repeated). One entry per line, two spaces of
// indentation per directory level:
//
//	dir "NAME"               a directory; the following deeper lines are its entries
//	file "NAME" "CONTENT"    a regular file (exe: executable)
//	link "NAME" "TARGET"     a symlink
//
// Names and contents are Go string literals, for bytes that are not
// UTF-8. The commit's author, committer and date are fixed, so its id is
// the same on every run.
func gitRepo(desc string) (*gitsource.Repo, error) {
	fs := memfs.New()
	st := filesystem.NewStorage(fs, cache.NewObjectLRUDefault())
	if _, err := git.Init(st, nil); err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimRight(desc, "\n"), "\n")
	tree, rest, err := writeTree(st, lines, 0)
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		return nil, fmt.Errorf("git-tree: line %q is indented wrongly", rest[0])
	}
	when := time.Date(2026, 1, 6, 10, 0, 0, 0, time.UTC)
	sig := object.Signature{Name: "t", Email: "t@example.com", When: when}
	c := &object.Commit{Author: sig, Committer: sig, Message: "crafted\n", TreeHash: tree}
	o := st.NewEncodedObject()
	if err := c.Encode(o); err != nil {
		return nil, err
	}
	h, err := st.SetEncodedObject(o)
	if err != nil {
		return nil, err
	}
	if err := st.SetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName("main"), h)); err != nil {
		return nil, err
	}
	if err := st.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, plumbing.NewBranchReferenceName("main"))); err != nil {
		return nil, err
	}
	return gitsource.OpenFS(fs)
}

// writeTree writes the entries at indentation depth and returns the
// lines after them.
func writeTree(st storer.EncodedObjectStorer, lines []string, depth int) (plumbing.Hash, []string, error) {
	var buf bytes.Buffer
	indent := strings.Repeat("  ", depth)
	for len(lines) > 0 && strings.HasPrefix(lines[0], indent) && !strings.HasPrefix(lines[0], indent+" ") {
		kind, args, _ := strings.Cut(strings.TrimPrefix(lines[0], indent), " ")
		var strs []string
		for args = strings.TrimSpace(args); args != ""; args = strings.TrimSpace(args) {
			q, err := strconv.QuotedPrefix(args)
			if err != nil {
				return plumbing.ZeroHash, nil, fmt.Errorf("git-tree: %q: %v", lines[0], err)
			}
			v, _ := strconv.Unquote(q)
			strs = append(strs, v)
			args = args[len(q):]
		}
		lines = lines[1:]
		if len(strs) == 0 {
			return plumbing.ZeroHash, nil, fmt.Errorf("git-tree: an entry without a name")
		}
		var mode filemode.FileMode
		var h plumbing.Hash
		var err error
		switch kind {
		case "dir":
			mode = filemode.Dir
			h, lines, err = writeTree(st, lines, depth+1)
		case "file", "exe", "link":
			mode = map[string]filemode.FileMode{"file": filemode.Regular, "exe": filemode.Executable, "link": filemode.Symlink}[kind]
			h, err = writeObject(st, plumbing.BlobObject, []byte(strings.Join(strs[1:], "")))
		default:
			err = fmt.Errorf("git-tree: unknown kind %q", kind)
		}
		if err != nil {
			return plumbing.ZeroHash, nil, err
		}
		fmt.Fprintf(&buf, "%o %s\x00", mode, strs[0])
		buf.Write(h[:])
	}
	h, err := writeObject(st, plumbing.TreeObject, buf.Bytes())
	return h, lines, err
}

func writeObject(st storer.EncodedObjectStorer, typ plumbing.ObjectType, dt []byte) (plumbing.Hash, error) {
	o := st.NewEncodedObject()
	o.SetType(typ)
	w, err := o.Writer()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if _, err := w.Write(dt); err != nil {
		return plumbing.ZeroHash, err
	}
	if err := w.Close(); err != nil {
		return plumbing.ZeroHash, err
	}
	return st.SetEncodedObject(o)
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
