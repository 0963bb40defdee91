//go:build e2e

package e2e

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
	digest "github.com/opencontainers/go-digest"
)

// Vertex is the final state of one build vertex as reported by progress.
type Vertex struct {
	Digest    digest.Digest
	Name      string
	Inputs    []digest.Digest
	Started   *time.Time
	Completed *time.Time
	// FirstLog is when the vertex printed its first output: for a build
	// step, after its mounts were ready (a locked cache mount is waited
	// for between Started and FirstLog).
	FirstLog *time.Time
	Cached   bool
	Error    string
}

// Ran reports whether the vertex executed (started and completed, not a cache hit).
func (v Vertex) Ran() bool { return !v.Cached && v.Started != nil && v.Completed != nil }

// Duration is Completed-Started (0 when either is unknown).
func (v Vertex) Duration() time.Duration {
	if v.Started == nil || v.Completed == nil {
		return 0
	}
	return v.Completed.Sub(*v.Started)
}

// Overlapped reports whether two vertices were running at the same time,
// i.e. their [Started, Completed] intervals intersect. Cached vertices and
// vertices without both timestamps never overlap.
func Overlapped(a, b Vertex) bool {
	if !a.Ran() || !b.Ran() {
		return false
	}
	return a.Started.Before(*b.Completed) && b.Started.Before(*a.Completed)
}

// RanTogether reports whether a and b were at work at the same time: from
// their first output to their end. A step waiting for a locked cache
// mount has started but prints nothing until it has the cache, so
// Overlapped alone cannot tell waiting beside another step from running
// beside it.
func RanTogether(a, b Vertex) bool {
	if !a.Ran() || !b.Ran() || a.FirstLog == nil || b.FirstLog == nil {
		return false
	}
	return a.FirstLog.Before(*b.Completed) && b.FirstLog.Before(*a.Completed)
}

// Progress collects the SolveStatus stream of one build.
type Progress struct {
	mu       sync.Mutex
	order    []digest.Digest
	vertices map[digest.Digest]*Vertex
	logs     map[digest.Digest]*strings.Builder
	warnings []*client.VertexWarning
	// a vertex can be reported by several solves of one gateway build
	cachedSeen map[digest.Digest]bool
	ranSeen    map[digest.Digest]bool
}

func newProgress() *Progress {
	return &Progress{
		vertices:   map[digest.Digest]*Vertex{},
		logs:       map[digest.Digest]*strings.Builder{},
		cachedSeen: map[digest.Digest]bool{},
		ranSeen:    map[digest.Digest]bool{},
	}
}

// consume reads ch until it is closed. The same vertex is reported several
// times (pending, started, completed or cached); the reports are merged. A
// vertex reported by several solves of one gateway build keeps its earliest
// start and latest completion, and counts as cached only if it never ran.
func (p *Progress) consume(ch chan *client.SolveStatus) {
	for st := range ch {
		p.mu.Lock()
		for _, v := range st.Vertexes {
			cur, ok := p.vertices[v.Digest]
			if !ok {
				cur = &Vertex{Digest: v.Digest}
				p.vertices[v.Digest] = cur
				p.order = append(p.order, v.Digest)
			}
			if v.Name != "" {
				cur.Name = v.Name
			}
			if len(v.Inputs) > 0 {
				cur.Inputs = v.Inputs
			}
			if v.Started != nil && (cur.Started == nil || v.Started.Before(*cur.Started)) {
				s := *v.Started
				cur.Started = &s
			}
			if v.Completed != nil && (cur.Completed == nil || v.Completed.After(*cur.Completed)) {
				c := *v.Completed
				cur.Completed = &c
			}
			if v.Cached {
				p.cachedSeen[v.Digest] = true
			} else if v.Started != nil {
				p.ranSeen[v.Digest] = true
			}
			cur.Cached = p.cachedSeen[v.Digest] && !p.ranSeen[v.Digest]
			if v.Error != "" {
				cur.Error = v.Error
			}
		}
		for _, l := range st.Logs {
			if cur := p.vertices[l.Vertex]; cur != nil && !l.Timestamp.IsZero() && (cur.FirstLog == nil || l.Timestamp.Before(*cur.FirstLog)) {
				ts := l.Timestamp
				cur.FirstLog = &ts
			}
			b := p.logs[l.Vertex]
			if b == nil {
				b = &strings.Builder{}
				p.logs[l.Vertex] = b
			}
			b.Write(l.Data)
		}
		p.warnings = append(p.warnings, st.Warnings...)
		p.mu.Unlock()
	}
}

// Vertices returns all vertices in the order they first appeared.
func (p *Progress) Vertices() []Vertex {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Vertex, 0, len(p.order))
	for _, d := range p.order {
		out = append(out, *p.vertices[d])
	}
	return out
}

// Find returns the vertices whose name contains substr.
func (p *Progress) Find(substr string) []Vertex {
	var out []Vertex
	for _, v := range p.Vertices() {
		if strings.Contains(v.Name, substr) {
			out = append(out, v)
		}
	}
	return out
}

// FindRe returns the vertices whose name matches the regular expression.
func (p *Progress) FindRe(expr string) []Vertex {
	re := regexp.MustCompile(expr)
	var out []Vertex
	for _, v := range p.Vertices() {
		if re.MatchString(v.Name) {
			out = append(out, v)
		}
	}
	return out
}

// Vertex returns the one vertex named exactly name, or else the one vertex
// whose name contains name; it fails the test when there is none or several.
func (p *Progress) Vertex(t testing.TB, name string) Vertex {
	t.Helper()
	var exact []Vertex
	for _, v := range p.Vertices() {
		if v.Name == name {
			exact = append(exact, v)
		}
	}
	if len(exact) == 1 {
		return exact[0]
	}
	found := p.Find(name)
	if len(found) == 1 {
		return found[0]
	}
	if len(found) == 0 {
		t.Fatalf("no vertex named %q; vertices:\n%s", name, p.Dump())
	}
	t.Fatalf("%d vertices match %q; vertices:\n%s", len(found), name, p.Dump())
	return Vertex{}
}

// Cached reports whether the vertex named name was a cache hit.
func (p *Progress) Cached(t testing.TB, name string) bool {
	t.Helper()
	return p.Vertex(t, name).Cached
}

// Ran reports whether the vertex named name executed (was not a cache hit).
func (p *Progress) Ran(t testing.TB, name string) bool {
	t.Helper()
	return p.Vertex(t, name).Ran()
}

// Overlapped reports whether the vertices named a and b ran at the same time.
func (p *Progress) Overlapped(t testing.TB, a, b string) bool {
	t.Helper()
	return Overlapped(p.Vertex(t, a), p.Vertex(t, b))
}

// Log returns the output (stdout+stderr) the vertex named name printed.
func (p *Progress) Log(t testing.TB, name string) string {
	t.Helper()
	v := p.Vertex(t, name)
	p.mu.Lock()
	defer p.mu.Unlock()
	if b := p.logs[v.Digest]; b != nil {
		return b.String()
	}
	return ""
}

// Warnings returns the short texts of the build warnings.
func (p *Progress) Warnings() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, w := range p.warnings {
		out = append(out, string(w.Short))
	}
	return out
}

// Dump renders the vertices (state, duration, name) and the tail of each log,
// for t.Log when something went wrong.
func (p *Progress) Dump() string {
	vs := p.Vertices()
	var start time.Time
	for _, v := range vs {
		if v.Started != nil && (start.IsZero() || v.Started.Before(start)) {
			start = *v.Started
		}
	}
	sort.SliceStable(vs, func(i, j int) bool {
		if vs[i].Started == nil || vs[j].Started == nil {
			return vs[j].Started == nil && vs[i].Started != nil
		}
		return vs[i].Started.Before(*vs[j].Started)
	})
	var b strings.Builder
	for _, v := range vs {
		state := "pending"
		switch {
		case v.Error != "":
			state = "ERROR"
		case v.Cached:
			state = "cached"
		case v.Ran():
			state = "ran"
		case v.Started != nil:
			state = "started"
		}
		at := ""
		if v.Started != nil {
			at = fmt.Sprintf("+%.2fs %.2fs", v.Started.Sub(start).Seconds(), v.Duration().Seconds())
		}
		fmt.Fprintf(&b, "  %-7s %-16s %s\n", state, at, v.Name)
		if v.Error != "" {
			fmt.Fprintf(&b, "          error: %s\n", v.Error)
		}
		p.mu.Lock()
		lb := p.logs[v.Digest]
		p.mu.Unlock()
		if lb != nil && (v.Error != "" || lb.Len() < 2048) {
			logText := lb.String()
			if len(logText) > 4096 {
				logText = "…" + logText[len(logText)-4096:]
			}
			for _, line := range strings.Split(strings.TrimRight(logText, "\n"), "\n") {
				fmt.Fprintf(&b, "          | %s\n", line)
			}
		}
	}
	return b.String()
}
