package frontend

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	bkllb "github.com/moby/buildkit/client/llb"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	fstypes "github.com/tonistiigi/fsutil/types"
)

// keyTrace turns on the phase trace of one build (`--opt trace=1`, build
// arg DAPP_TRACE): where the frontend's own time goes, for issue 14's
// benchmark.
const keyTrace = "trace"

// tracePrefix starts every trace line, so a benchmark finds them in
// `buildctl --progress=plain` output or the daemon's log.
const tracePrefix = "dapp-trace:"

// The phases of a build, in the order they first happen. Their times
// exclude one another, so they add up to about the frontend's share of the
// build: reading .git happens lazily inside the Dappfile (werf's .Commit)
// and the conversion (go-git reads objects while planning), and counts as
// git, not as the phase it happened in. Two exceptions: platforms convert
// and solve at the same time, and their spans are summed; the worktree
// check runs beside the solve, so its time overlaps the solve's.
const (
	phaseOptions  = "options"  // options, finding the Dappfile (a probe solve)
	phaseDappfile = "dappfile" // the Dappfile, its templates, rendering, decoding
	phaseGit      = "git"      // the context's .git: its probe solve, opening it, every read of it (bytes, round trips)
	phaseWorktree = "worktree" // the uncommitted-change check (beside the solve): its probe solve, its reads of .git and the work tree
	phasePlan     = "plan"     // conversion: history plans, stage chains, image configs
	phaseMarshal  = "marshal"  // the LLB definition (bytes = its size)
	phaseSolve    = "solve"    // sending the definition and running it
)

// ioProbe counts the solves of local sources the frontend reads itself
// (the Dappfile, templates, .git, the work tree): their time is inside the
// phases above.
const ioProbe = "probe-solve"

// ioGitPrefetch counts the reads of .git made ahead, beside the Dappfile's
// reading (contextGit.prefetch); go-git then finds them in the reader's
// cache, and the git phase holds only what it still had to read.
const ioGitPrefetch = "git-prefetch"

// ioGitReadAhead counts the read-ahead done inside the build
// (readAheadInBuild): its solve and the reading of its file; a no-op finds
// it cached. When it fails, the read-ahead goes through the gateway
// (git-prefetch).
const ioGitReadAhead = "git-read-ahead"

// ioGitReadAheadFallback counts the read-aheads inside the build that
// failed, so the gateway read .git instead.
const ioGitReadAheadFallback = "git-read-ahead-fallback"

// tracer sums time, bytes and calls per phase of one build. A nil tracer
// records nothing, so call sites need no checks.
type tracer struct {
	mu     sync.Mutex
	start  time.Time
	order  []string
	byName map[string]*traceRow
	// nested is the time of the phase that happens inside other phases
	// (git) so far; an enclosing span takes it off its own.
	nested time.Duration
}

type traceRow struct {
	name  string
	io    bool
	d     time.Duration
	bytes int64
	calls int
}

func newTracer(now time.Time) *tracer {
	return &tracer{start: now, byName: map[string]*traceRow{}}
}

// nestedPhase reports whether a phase can happen inside another one.
func nestedPhase(name string) bool { return name == phaseGit }

func (t *tracer) add(name string, isIO bool, d time.Duration, bytes int64, calls int) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.byName[name]
	if r == nil {
		r = &traceRow{name: name, io: isIO}
		t.byName[name] = r
		t.order = append(t.order, name)
	}
	r.d += d
	r.bytes += bytes
	r.calls += calls
	if !isIO && nestedPhase(name) {
		t.nested += d
	}
}

func (t *tracer) nestedTime() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.nested
}

// span starts a phase; the returned func ends it with the bytes it moved
// and the gateway calls it made. Time of the nested phase (git) spent
// meanwhile is not the span's own.
func (t *tracer) span(name string) func(bytes int64, calls int) {
	if t == nil {
		return func(int64, int) {}
	}
	start, n0 := time.Now(), t.nestedTime()
	return func(bytes int64, calls int) {
		d := time.Since(start)
		if name != phaseWorktree {
			// the worktree check runs beside the others: what they read
			// of .git meanwhile is not its time to give back
			d -= t.nestedTime() - n0
		}
		t.add(name, false, max(d, 0), bytes, calls)
	}
}

// lines formats the trace: one line per phase, then the probe solves
// made inside them, then the total, each `dapp-trace: <kind>=<name>
// ms=<float> bytes=<int> calls=<int>`. kind is phase (the rows that add up
// to about the total), io (gateway work already inside the phases) or
// total (wall time from the start of Build to now).
func (t *tracer) lines(now time.Time) []string {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var phases, ios []string
	for _, name := range t.order {
		r := t.byName[name]
		if r.io {
			ios = append(ios, formatTraceLine("io", r.name, r.d, r.bytes, r.calls))
		} else {
			phases = append(phases, formatTraceLine("phase", r.name, r.d, r.bytes, r.calls))
		}
	}
	out := append(phases, ios...)
	return append(out, formatTraceLine("total", "build", now.Sub(t.start), 0, 0))
}

func formatTraceLine(kind, name string, d time.Duration, bytes int64, calls int) string {
	return fmt.Sprintf("%s %s=%s ms=%s bytes=%d calls=%d", tracePrefix, kind, name,
		strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64), bytes, calls)
}

// traceOption makes the build's tracer when the trace option (or its
// build arg) is on. It runs before the options are parsed, to time them
// too; parseOptions reports a malformed value.
func traceOption(opts map[string]string) *tracer {
	start := time.Now()
	if on, err := parseBool(withBuildArgOptions(opts), keyTrace, false); err != nil || !on {
		return nil
	}
	return newTracer(start)
}

type traceKey struct{}

func withTracer(ctx context.Context, t *tracer) context.Context {
	if t == nil {
		return ctx
	}
	return context.WithValue(ctx, traceKey{}, t)
}

func tracerFrom(ctx context.Context) *tracer {
	t, _ := ctx.Value(traceKey{}).(*tracer)
	return t
}

// tracingReader counts a fileReader's gateway round trips, their time
// and bytes under a nested phase (git, worktree).
type tracingReader struct {
	fileReader
	t    *tracer
	name string
	io   bool
}

func traceReader(t *tracer, name string, r fileReader) fileReader {
	if t == nil {
		return r
	}
	return &tracingReader{fileReader: r, t: t, name: name}
}

// traceIO is traceReader for an io row: work beside the phases.
func traceIO(t *tracer, name string, r fileReader) fileReader {
	if t == nil {
		return r
	}
	return &tracingReader{fileReader: r, t: t, name: name, io: true}
}

func (c *tracingReader) ReadFile(ctx context.Context, req gwclient.ReadRequest) ([]byte, error) {
	start := time.Now()
	dt, err := c.fileReader.ReadFile(ctx, req)
	c.t.add(c.name, c.io, time.Since(start), int64(len(dt)), 1)
	return dt, err
}

func (c *tracingReader) ReadDir(ctx context.Context, req gwclient.ReadDirRequest) ([]*fstypes.Stat, error) {
	start := time.Now()
	sts, err := c.fileReader.ReadDir(ctx, req)
	c.t.add(c.name, c.io, time.Since(start), 0, 1)
	return sts, err
}

func (c *tracingReader) StatFile(ctx context.Context, req gwclient.StatRequest) (*fstypes.Stat, error) {
	start := time.Now()
	st, err := c.fileReader.StatFile(ctx, req)
	c.t.add(c.name, c.io, time.Since(start), 0, 1)
	return st, err
}

// printTrace writes the trace to w (the frontend's stderr, which buildkitd
// logs) and, through c, to the build's progress: one cached-after-first-use
// vertex per line, named by the line, so `buildctl --progress=plain` shows
// it without a warning. The vertices are a chain of empty directories in a
// scratch state; their digests depend only on the line count.
func printTrace(ctx context.Context, t *tracer, c gwclient.Client, w io.Writer) error {
	if t == nil {
		return nil
	}
	lines := t.lines(time.Now())
	fmt.Fprintln(w, strings.Join(lines, "\n"))
	st := bkllb.Scratch()
	for i, l := range lines {
		st = st.File(bkllb.Mkdir("/"+strconv.Itoa(i), 0o755), bkllb.WithCustomName(l))
	}
	def, err := st.Marshal(ctx)
	if err != nil {
		return err
	}
	_, err = c.Solve(ctx, gwclient.SolveRequest{Definition: def.ToPB(), Evaluate: true})
	return err
}
