package frontend

import (
	"context"
	"os"
	"path"
	"sort"
	"strings"
	"sync"

	dappllb "github.com/flant/dapp-frontend/llb"
	"github.com/go-git/go-billy/v5"
)

// worktrees solves the narrowed work trees the uncommitted-change checks
// read, each narrowing once per build. warm starts the transfers the
// conversion will ask for as soon as the Dappfile is read, so the client
// walks and sends the work tree while the frontend reads .git and plans,
// not after: the checks wait for these transfers before the build ends.
type worktrees struct {
	main *mainContext
	all  onceMap[worktreeSolve]
	wg   sync.WaitGroup
	// shared maps the narrowing of a check warm started to the one its
	// transfer is shared under (dappllb.SharedWorktrees); warm writes it
	// before any get
	shared map[string]dappllb.WorktreeCheck
}

func narrowingKey(include, exclude []string) string {
	return strings.Join(include, "\x00") + "\x01" + strings.Join(exclude, "\x00")
}

type worktreeSolve struct {
	fs  billy.Filesystem
	err error
}

func newWorktrees(main *mainContext) *worktrees { return &worktrees{main: main} }

// get returns the work tree narrowed to include and exclude, solving it
// the first time it is asked for.
func (w *worktrees) get(ctx context.Context, include, exclude []string) (billy.Filesystem, error) {
	if c, ok := w.shared[narrowingKey(include, exclude)]; ok {
		include, exclude = c.Include, c.Exclude
	}
	key := narrowingKey(include, exclude)
	s := w.all.get(key, func() worktreeSolve {
		fs, err := w.solve(ctx, include, exclude)
		return worktreeSolve{fs: fs, err: err}
	})
	return s.fs, s.err
}

func (w *worktrees) solve(ctx context.Context, include, exclude []string) (billy.Filesystem, error) {
	tr := tracerFrom(ctx)
	end := tr.span(phaseWorktree)
	defer end(0, 0)
	st, err := w.main.narrowedTo(ctx, include, exclude)
	if err != nil {
		return nil, err
	}
	ref, err := solveRef(ctx, w.main.bc.GatewayClient(), st)
	if err != nil {
		return nil, err
	}
	rfs := newReaderFS(ctx, traceReader(tr, phaseWorktree, ref), "/").(*readerFS)
	rfs.warmListings(maxWarmListings)
	return rfs, nil
}

// maxWarmListings bounds the directories warmListings lists ahead; go-git
// lists the rest itself.
const maxWarmListings = 1024

// warmListings lists the directories of fs breadth first, several at a
// time, up to max of them. The uncommitted-change check (go-git's status)
// walks the work tree one directory after another, a gateway round trip
// each, and ends the build: with the listings (and the stats they carry)
// in the cache it walks from memory.
func (fs *readerFS) warmListings(max int) {
	g := newGroup(prefetchParallel)
	level := []string{fs.abs("")}
	listed := 0
	for len(level) > 0 && listed < max {
		var mu sync.Mutex
		var next []string
		for _, dir := range level[:min(len(level), max-listed)] {
			listed++
			g.run(func() {
				sts, err := fs.listDir(fs.r, dir)
				if err != nil {
					return
				}
				mu.Lock()
				defer mu.Unlock()
				for _, st := range sts {
					if os.FileMode(st.Mode).IsDir() {
						next = append(next, path.Join(dir, path.Base(st.Path)))
					}
				}
			})
		}
		g.wait()
		sort.Strings(next)
		level = next
	}
}

// warm starts the transfers of checks in the background under the
// narrowings dappllb.SharedWorktrees gives them: checks that share one
// share its transfer, as get solves each narrowing once. Errors stay in
// the cache for the check that asks, which reports them. It is called
// once, before any get.
func (w *worktrees) warm(ctx context.Context, checks []dappllb.WorktreeCheck) {
	shared := dappllb.SharedWorktrees(checks)
	w.shared = map[string]dappllb.WorktreeCheck{}
	for i, c := range checks {
		w.shared[narrowingKey(c.Include, c.Exclude)] = shared[i]
	}
	for _, c := range shared {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			_, _ = w.get(ctx, c.Include, c.Exclude)
		}()
	}
}

// wait blocks until the transfers warm started are done.
func (w *worktrees) wait() { w.wg.Wait() }
