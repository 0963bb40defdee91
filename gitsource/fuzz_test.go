package gitsource

import (
	"errors"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flant/dapp-frontend/dappfile"
	"github.com/flant/dapp-frontend/internal/fuzzbound"
	"github.com/go-git/go-billy/v5/memfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// fuzzNames are the names a fuzzed tree picks from: ordinary ones (also
// repeated, so duplicates happen), every name checkTree refuses, and names
// that are legal but unusual.
var fuzzNames = []string{
	"a", "b", "src", "lib", "A", "..", ".", ".git", ".GIT", "a/b", "/", "",
	"caf\xe9", ".gitignore", "...", "a*b", "[x]", "-rf", " ", "\xff",
}

var fuzzModes = []filemode.FileMode{
	filemode.Regular, filemode.Executable, filemode.Symlink, filemode.Dir, filemode.Dir,
	filemode.Submodule, filemode.Deprecated, 0o100664, 0o040000 | 0o755,
}

// fuzzTree decodes bytes into crafted entries: per entry a name byte, a
// mode byte and (files) a data byte, directories recursing. The depth and
// the entry count are bounded by the input's length.
type fuzzReader struct{ b []byte }

func (r *fuzzReader) next() (byte, bool) {
	if len(r.b) == 0 {
		return 0, false
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c, true
}

func (r *fuzzReader) tree(depth int) []crafted {
	var out []crafted
	for {
		n, ok := r.next()
		if !ok || n == 0xff {
			return out
		}
		m, _ := r.next()
		e := crafted{name: fuzzNames[int(n)%len(fuzzNames)], mode: fuzzModes[int(m)%len(fuzzModes)]}
		switch {
		case e.mode == filemode.Dir && depth < 6:
			e.sub = r.tree(depth + 1)
		case e.mode == filemode.Dir:
			e.mode = filemode.Regular
		default:
			d, _ := r.next()
			e.data = strings.Repeat(string(rune('a'+d%26)), int(d%5))
			if e.mode == filemode.Symlink {
				e.data = []string{"../../etc", "/etc/passwd", "a", "caf\xe9", ""}[int(d)%5]
			}
		}
		out = append(out, e)
	}
}

// memRepo is an empty repository in memory (a memfs .git, so submodules
// are looked up and found missing like in a real one).
func memRepo(t testing.TB) *Repo {
	t.Helper()
	fs := memfs.New()
	st := filesystem.NewStorage(fs, cache.NewObjectLRUDefault())
	if _, err := git.Init(st, nil); err != nil {
		t.Fatal(err)
	}
	repo, err := OpenFS(fs)
	if err != nil {
		t.Fatal(err)
	}
	return repo
}

// FuzzPlanCraftedTrees builds two commits from crafted trees (any names,
// modes, duplicates and nesting), plans a mapping over them and computes
// and exports every step. It checks that an input either fails with an
// error or yields only clean relative paths that stay below `to` (never
// "..", ".", ".git" in any case, "/" inside a name), that git-export writes
// nothing outside its output, and that each input ends within the time and
// memory bounds.
func FuzzPlanCraftedTrees(f *testing.F) {
	f.Add([]byte{2, 3, 0, 0, 0, 0xff, 0, 0, 1}, []byte{2, 3, 0, 0, 1, 0xff}, uint8(0))
	f.Add([]byte{4, 3, 0, 0, 0xff}, []byte{4, 3, 0, 0, 0xff}, uint8(0))               // ".." directory
	f.Add([]byte{0, 0, 1, 0, 0, 2}, []byte{0, 2, 1, 0, 3, 0, 0, 0xff}, uint8(1))      // duplicates, symlink then dir
	f.Add([]byte{12, 0, 1, 3, 3, 20, 0, 0}, []byte{12, 0, 2, 0xff}, uint8(2))         // not UTF-8 names
	f.Add([]byte{7, 3, 0, 0, 0xff, 2, 5, 0}, []byte{8, 3, 1, 0, 3}, uint8(3))         // .git, .GIT, gitlink
	f.Add([]byte{2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 0, 0}, []byte{}, uint8(4)) // deep
	f.Fuzz(func(t *testing.T, older, newer []byte, pick uint8) {
		if len(older)+len(newer) > 4096 {
			return
		}
		fuzzbound.Check(t, fuzzbound.MaxTime, fuzzbound.MaxAlloc, func() {
			planCrafted(t, older, newer, pick)
		})
	})
}

func planCrafted(t *testing.T, older, newer []byte, pick uint8) {
	repo := memRepo(t)
	st := repo.r.Storer
	when := time.Date(2026, 1, 6, 10, 0, 0, 0, time.UTC)
	c1 := writeCommit(t, st, writeTree(t, st, (&fuzzReader{older}).tree(0)), when)
	c2 := writeCommit(t, st, writeTree(t, st, (&fuzzReader{newer}).tree(0)), when.Add(time.Minute), c1)
	m := &dappfile.GitMapping{
		Add: []string{"/", "/src", "/a", "/src/a"}[pick%4],
		To:  "/app",
		StageDependencies: map[dappfile.StageName][]string{
			dappfile.Install: {[]string{"a", "**/b", "src"}[pick/4%3]},
		},
	}
	if pick&16 != 0 {
		m.IncludePaths = []string{"a", "src/**"}
	}
	if pick&32 != 0 {
		m.ExcludePaths = []string{"b"}
	}
	p, _, err := Plan(repo, c2, m, PlanOpt{PatchThreshold: 1})
	if err != nil {
		var te *TreeError
		if errors.As(err, &te) && te.Reason == "" {
			t.Fatalf("tree error without a reason: %v", err)
		}
		return
	}
	for _, step := range p.Steps {
		acts, err := p.StepActions(step)
		if err != nil {
			continue
		}
		for _, a := range acts {
			checkRel(t, a.Rel)
			// a file mapping also makes the directory that holds `to`
			d := p.Dest(a.Rel)
			if p.view.file != "" && a.Rel == "" && d == "/" {
				continue
			}
			if d != "/app" && !strings.HasPrefix(d, "/app/") {
				t.Fatalf("%s: %q is placed at %q, outside /app", step, a.Rel, d)
			}
		}
		exportConfined(t, repo, p, step)
	}
}

// checkRel fails unless rel is a clean relative path of names that may be
// written.
func checkRel(t *testing.T, rel string) {
	t.Helper()
	if rel == "" {
		return
	}
	if path.Clean(rel) != rel || path.IsAbs(rel) {
		t.Fatalf("action path %q is not clean and relative", rel)
	}
	for _, name := range strings.Split(rel, "/") {
		if why := nameProblem(name); why != "" {
			t.Fatalf("action path %q: %s", rel, why)
		}
	}
}

// exportConfined runs git-export of step into a directory inside a
// sandbox and checks that nothing appears in the sandbox besides it.
func exportConfined(t *testing.T, repo *Repo, p *MappingPlan, step PlanStep) {
	t.Helper()
	sandbox := t.TempDir()
	out := filepath.Join(sandbox, "out")
	_ = Export(repo, p.ExportSpec(step, time.Unix(0, 0)), out)
	entries, err := os.ReadDir(sandbox)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "out" {
			t.Fatalf("%s: git-export wrote %q outside its output", step, e.Name())
		}
	}
}

// FuzzNameProblem checks the name check against what it protects: a name
// it accepts, joined below a directory, is exactly one more path element
// there.
func FuzzNameProblem(f *testing.F) {
	for _, n := range fuzzNames {
		f.Add(n)
	}
	f.Add(".Git")
	f.Add("a\x00b")
	f.Fuzz(func(t *testing.T, name string) {
		fuzzbound.Check(t, time.Second, 1<<20, func() {
			if nameProblem(name) != "" {
				return
			}
			j := path.Join("/app/dir", name)
			if path.Dir(j) != "/app/dir" || path.Base(j) != name {
				t.Fatalf("accepted name %q joins to %q", name, j)
			}
			if strings.EqualFold(path.Base(j), ".git") || strings.ContainsRune(name, 0) {
				t.Fatalf("accepted name %q", name)
			}
		})
	})
}

// FuzzFilter matches fuzzed includePaths/excludePaths-style patterns
// against fuzzed paths: every pattern NewFilter accepts matches in bounded
// time (a linear-time matcher, whatever the `**` and `*` it holds), keeps
// dapp's rule that a directory's content matches with it, and never prunes
// a directory that holds a matching file.
func FuzzFilter(f *testing.F) {
	for _, seed := range [][2]string{
		{"**/*.js", "src/app/main.js"},
		{"src", "src/a/b.go"},
		{"*.go", "a.go"},
		{"[!a]*", "b/c"},
		{"{a,b}", "{a,b}/x"},
		{strings.Repeat("**/", 16) + "x", strings.Repeat("a/", 200) + "y"},
		{strings.Repeat("*a", 60), strings.Repeat("a", 300) + "b"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, pattern, rel string) {
		if len(rel) > 4096 {
			return
		}
		fuzzbound.Check(t, time.Second, 64<<20, func() {
			flt, err := NewFilter([]string{pattern}, nil)
			if err != nil {
				return
			}
			rel = strings.Trim(path.Clean("/"+rel), "/")
			if rel == "" {
				return
			}
			if flt.Match(rel) {
				if !flt.Match(rel + "/x") {
					t.Fatalf("pattern %q matches %q but not its content", pattern, rel)
				}
				if dir := path.Dir(rel); dir != "." && !flt.MayContain(dir) {
					t.Fatalf("pattern %q matches %q but prunes its directory %q", pattern, rel, dir)
				}
			}
			exc, err := NewFilter(nil, []string{pattern})
			if err == nil && exc.Match(rel) == flt.Match(rel) {
				t.Fatalf("pattern %q: include and exclude agree on %q", pattern, rel)
			}
		})
	})
}
