//go:build e2e

package e2e

// The application benchmark of `make bench` (issue 14): a realistic app
// built and pushed the way a user runs it, with the Dappfile through the
// frontend image and with its best-practice Dockerfile through BuildKit's
// built-in Dockerfile frontend and through the Dockerfile frontend run as
// an image, on the same buildkitd and registry.

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
	digest "github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/require"
)

// benchAppDir holds the app's hand-written files (app/), the dependency
// changes (deps-v2/, deps-v3/: package.json and package-lock.json) and the
// build files (build/: Dappfile, Dockerfile, parallel.Dappfile), which are
// the `dockerfile` local and never part of the repository.
const benchAppDir = "testdata/benchapp"

// appBenchConfig are the knobs of BenchmarkApp, from the environment
// (the Makefile's BENCH_ROUNDS, BENCH_RATE_MBIT and BENCH_REPORT).
type appBenchConfig struct {
	rounds   int     // DAPP_BENCH_ROUNDS, default 3
	rateMbit float64 // DAPP_BENCH_RATE_MBIT, the proxy's limit, default 100
	report   string  // DAPP_BENCH_REPORT: also write the Markdown report there
	cases    string  // DAPP_BENCH_CASES: "all" (default), "matrix" or "parallel"
}

func appBenchConfigFromEnv(b *testing.B) appBenchConfig {
	b.Helper()
	cfg := appBenchConfig{rounds: 3, rateMbit: 100, report: os.Getenv("DAPP_BENCH_REPORT"), cases: "all"}
	if v := os.Getenv("DAPP_BENCH_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 50 {
			b.Fatalf("DAPP_BENCH_ROUNDS=%q: expected a number of rounds from 1 to 50", v)
		}
		cfg.rounds = n
	}
	if v := os.Getenv("DAPP_BENCH_RATE_MBIT"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 1 || f > 100000 {
			b.Fatalf("DAPP_BENCH_RATE_MBIT=%q: expected a rate in Mbit/s from 1 to 100000", v)
		}
		cfg.rateMbit = f
	}
	if v := os.Getenv("DAPP_BENCH_CASES"); v != "" {
		if v != "all" && v != "matrix" && v != "parallel" {
			b.Fatalf("DAPP_BENCH_CASES=%q: expected all, matrix or parallel", v)
		}
		cfg.cases = v
	}
	return cfg
}

// newBenchAppRepo writes the app's repository: the files of app/ and
// 6.3 MB of generated sources in five commits (4 MiB of JavaScript in
// src/gen, 1.25 MiB of images, 1 MiB of HTML pages, a rewrite). Contents
// and commit dates are fixed, so every call makes the same commits.
func newBenchAppRepo(b *testing.B) *gitRepo {
	b.Helper()
	r := newGitRepo(b)
	require.NoError(b, os.CopyFS(r.dir, os.DirFS(filepath.Join(benchAppDir, "app"))))
	for i := range 16 {
		r.write(fmt.Sprintf("src/gen/mod%02d.js", i), seededText(uint64(100+i), 128<<10), 0o644)
	}
	r.commit("express server, assets and the first half of the modules")
	for i := 16; i < 32; i++ {
		r.write(fmt.Sprintf("src/gen/mod%02d.js", i), seededText(uint64(100+i), 128<<10), 0o644)
	}
	r.commit("second half of the modules")
	for i := range 8 {
		r.write(fmt.Sprintf("public/images/img%02d.png", i), "\x89PNG\r\n\x1a\n"+seededBytes(uint64(200+i), 160<<10), 0o644)
	}
	r.commit("images")
	for i := range 16 {
		r.write(fmt.Sprintf("public/docs/page%02d.html", i),
			"<!doctype html>\n<title>page</title>\n<pre>\n"+seededText(uint64(300+i), 64<<10)+"</pre>\n", 0o644)
	}
	r.commit("documentation pages")
	r.write("src/gen/mod00.js", seededText(400, 128<<10), 0o644)
	r.commit("rewrite mod00")
	return r
}

// seededBytes is n bytes that do not compress, the same for the same seed.
func seededBytes(seed uint64, n int) string {
	rng := rand.New(rand.NewPCG(seed, 0x62656e6368617070))
	raw := make([]byte, n)
	for i := range raw {
		raw[i] = byte(rng.Uint32())
	}
	return string(raw)
}

// commit10KB commits a new 10 KB source file (seed picks its content).
func commit10KB(r *gitRepo, seed uint64) {
	r.write(fmt.Sprintf("src/feature/change%d.js", seed), seededText(500+seed, 10<<10), 0o644)
	r.commit(fmt.Sprintf("feature %d", seed))
}

// commitDeps replaces package.json and package-lock.json with those of
// benchAppDir/<set> and commits.
func commitDeps(r *gitRepo, set string) {
	r.t.Helper()
	for _, f := range []string{"package.json", "package-lock.json"} {
		data, err := os.ReadFile(filepath.Join(benchAppDir, set, f))
		require.NoError(r.t, err)
		r.write(f, string(data), 0o644)
	}
	r.commit("dependencies: " + set)
}

// appVariant is one way to build the app.
type appVariant struct {
	name, title string
	// attrs are the frontend options; frontend is the SolveOpt's Frontend.
	frontend string
	attrs    map[string]string
}

func appVariants(b *testing.B) []appVariant {
	e := env(b)
	dfImage := os.Getenv("DAPP_E2E_DOCKERFILE_FRONTEND_IMAGE")
	if dfImage == "" {
		b.Fatal("DAPP_E2E_DOCKERFILE_FRONTEND_IMAGE not set: run `hack/e2e-env.sh dockerfile-frontend-image STATE_DIR` " +
			"(make bench does) and load STATE_DIR/env again")
	}
	debian := "docker-image://" + e.Image("debian:bookworm")
	return []appVariant{
		{name: "dapp", title: "ours (frontend image)", frontend: "gateway.v0", attrs: map[string]string{
			"source": e.FrontendImage(), "filename": "Dappfile", "target": "app",
			"context:debian:bookworm": debian, "toolchain-image": e.ToolchainImage, "shell-toolchain-image": e.ShellToolchainImage,
		}},
		{name: "dockerfile", title: "Dockerfile (built-in)", frontend: "dockerfile.v0", attrs: map[string]string{
			"filename": "Dockerfile", "context:debian:bookworm": debian,
		}},
		{name: "dockerfile-image", title: "Dockerfile frontend as an image", frontend: "gateway.v0", attrs: map[string]string{
			"source": dfImage, "filename": "Dockerfile", "context:debian:bookworm": debian,
		}},
	}
}

// appBuild is one timed build.
type appBuild struct {
	took      time.Duration
	pushed    int64 // bytes of the blobs the repository did not have before
	proxied   int64 // request body bytes through the proxy (proxy builds only)
	imageSize int64 // compressed layers and config of the pushed image
	trace     string
}

// appBuilder builds one variant on one repository and pushes to one
// registry repository, remembering which blobs that repository has.
type appBuilder struct {
	b        *testing.B
	c        *client.Client
	v        appVariant
	repoDir  string
	buildDir string
	registry string // where the manifest is read: the registry itself
	pushHost string // where buildkitd pushes: the registry or the proxy
	name     string // repository name in the registry
	known    map[string]bool
	proxy    *throttleProxy
}

func (ab *appBuilder) build() appBuild {
	b := ab.b
	b.Helper()
	opt := client.SolveOpt{
		Frontend:      ab.v.frontend,
		FrontendAttrs: ab.v.attrs,
		LocalMounts:   localMounts(b, map[string]string{"context": ab.repoDir, "dockerfile": ab.buildDir}),
		Exports: []client.ExportEntry{{Type: client.ExporterImage, Attrs: map[string]string{
			"name": ab.pushHost + "/" + ab.name + ":latest", "push": "true", "registry.insecure": "true",
		}}},
	}
	var before int64
	if ab.proxy != nil {
		before = ab.proxy.sent.Load()
	}
	start := time.Now()
	resp, prog, err := solve(b, ab.c, opt, nil)
	took := time.Since(start)
	if err != nil {
		b.Fatalf("%s: build and push of %s: %v", ab.v.name, ab.name, err)
	}
	dgst := resp.ExporterResponse["containerimage.digest"]
	if dgst == "" {
		b.Fatalf("%s: no containerimage.digest in the exporter response %v", ab.v.name, resp.ExporterResponse)
	}
	blobs := manifestBlobs(b, ab.registry, ab.name, dgst)
	res := appBuild{took: took, trace: phaseTrace(prog)}
	for _, bl := range blobs {
		res.imageSize += bl.Size
		if !ab.known[bl.Digest] {
			res.pushed += bl.Size
			ab.known[bl.Digest] = true
		}
	}
	if ab.proxy != nil {
		res.proxied = ab.proxy.sent.Load() - before
	}
	return res
}

// phaseTrace is the frontend's phase trace (`--opt trace=1`, issue 14's
// first item): the progress vertices named "dapp-trace: ...", in the
// order of their chain (each line's vertex builds on the one before;
// progress reports them in any order); empty when the frontend printed
// none.
func phaseTrace(p *Progress) string {
	var trace []Vertex
	isTrace := map[digest.Digest]bool{}
	for _, v := range p.Vertices() {
		if strings.HasPrefix(v.Name, "dapp-trace:") {
			trace = append(trace, v)
			isTrace[v.Digest] = true
		}
	}
	next := map[digest.Digest]Vertex{} // a trace vertex → the one built on it
	var head []Vertex
	for _, v := range trace {
		if len(v.Inputs) == 1 && isTrace[v.Inputs[0]] {
			next[v.Inputs[0]] = v
		} else {
			head = append(head, v)
		}
	}
	var lines []string
	if len(head) == 1 {
		for v, ok := head[0], true; ok && len(lines) < len(trace); v, ok = next[v.Digest] {
			lines = append(lines, v.Name)
		}
	}
	if len(lines) != len(trace) { // not one chain: progress order
		lines = lines[:0]
		for _, v := range trace {
			lines = append(lines, v.Name)
		}
	}
	return strings.Join(lines, "\n")
}

// blob is a manifest's layer or config.
type blob struct {
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
}

// manifestBlobs reads the manifest dgst of repository name from the
// registry and returns its config and layers (for an index, those of its
// manifests).
func manifestBlobs(b *testing.B, registry, name, dgst string) []blob {
	b.Helper()
	var m struct {
		MediaType string `json:"mediaType"`
		Config    blob   `json:"config"`
		Layers    []blob `json:"layers"`
		Manifests []blob `json:"manifests"`
	}
	url := "http://" + registry + "/v2/" + name + "/manifests/" + dgst
	req, err := http.NewRequestWithContext(testContext(b), http.MethodGet, url, nil)
	require.NoError(b, err)
	req.Header.Set("Accept", strings.Join([]string{
		"application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json",
		"application/vnd.docker.distribution.manifest.v2+json", "application/vnd.docker.distribution.manifest.list.v2+json",
	}, ", "))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatalf("read manifest %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	require.NoError(b, err)
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("read manifest %s: %s: %s", url, resp.Status, body)
	}
	if err := json.Unmarshal(body, &m); err != nil {
		b.Fatalf("manifest %s: %v", url, err)
	}
	if len(m.Manifests) > 0 {
		var all []blob
		for _, sub := range m.Manifests {
			all = append(all, manifestBlobs(b, registry, name, sub.Digest)...)
		}
		return all
	}
	if m.Config.Digest == "" {
		b.Fatalf("manifest %s has no config: %s", url, body)
	}
	return append([]blob{m.Config}, m.Layers...)
}

// pruneAll empties the build cache (`buildctl prune --all`): the next
// build is cold, base and frontend images included.
func pruneAll(b *testing.B, c *client.Client) {
	b.Helper()
	if err := c.Prune(testContext(b), nil, client.PruneAll); err != nil {
		b.Fatalf("prune the build cache: %v", err)
	}
}

// appCases are the rows of the loopback and the proxy tables.
var (
	loopbackCases = []string{"cold", "no-op", "10 KB commit", "dependency change"}
	proxyCases    = []string{"first push, build cached", "no-op", "10 KB commit", "dependency change"}
)

// appResults: variant → case → one appBuild per round.
type appResults map[string]map[string][]appBuild

func (r appResults) add(variant, kase string, res appBuild) {
	if r[variant] == nil {
		r[variant] = map[string][]appBuild{}
	}
	r[variant][kase] = append(r[variant][kase], res)
}

// BenchmarkApp is issue 14's application benchmark: the app of
// testdata/benchapp (Debian, apt, npm ci, an assets artifact, 6.3 MB of
// sources in five commits), its Dappfile through the frontend image and its
// best-practice Dockerfile through the built-in Dockerfile frontend and the
// Dockerfile frontend image, built and pushed to the stack's registry.
//
// Each round builds every variant in turn (the order rotates from round to
// round): prune the whole build cache, then cold, no-op, a 10 KB commit and
// a dependency change, each pushed to a repository of its own for the
// round; then the same repository state pushed through a bandwidth-limited
// proxy in front of the registry (first a push of the whole image, build
// cached, then no-op, another 10 KB commit and another dependency change).
// The parallel case builds a Dappfile with two independent artifacts and
// the image cold, and each of the three alone (build only, no push).
//
// The result is a Markdown table (stdout, and DAPP_BENCH_REPORT when set)
// with medians and min–max over the rounds and the issue-14 targets marked
// met or missed.
//
//	make bench BENCH=App BENCH_ROUNDS=3
func BenchmarkApp(b *testing.B) {
	cfg := appBenchConfigFromEnv(b)
	e := env(b)
	c := newClient(b)
	variants := appVariants(b)
	buildDir, err := filepath.Abs(filepath.Join(benchAppDir, "build"))
	require.NoError(b, err)
	run := strconv.FormatInt(time.Now().Unix(), 10)

	proxy := startThrottleProxy(b, e.Registry, cfg.rateMbit*1e6/8)
	results := appResults{}
	var parallel []parallelRound
	var trace string
	start, loadStart := time.Now(), loadAverage()
	for round := range cfg.rounds {
		if cfg.cases == "all" || cfg.cases == "matrix" {
			for i := range variants {
				v := variants[(i+round)%len(variants)]
				b.Logf("round %d/%d: %s", round+1, cfg.rounds, v.title)
				t := benchVariantRound(b, c, v, buildDir, e.Registry, proxy, fmt.Sprintf("bench-%s/%s-r%d", run, v.name, round), results)
				if trace == "" {
					trace = t
				}
			}
		}
		if cfg.cases == "all" || cfg.cases == "parallel" {
			parallel = append(parallel, benchParallelRound(b, c, variants[0], buildDir, round))
		}
	}
	report := appReport(cfg, variants, results, parallel, trace, time.Since(start), loadStart+" → "+loadAverage())
	fmt.Print("\n" + report + "\n")
	if cfg.report != "" {
		// the default lands in the clone's .cache, which a stack whose
		// caches live elsewhere (DAPP_E2E_CACHE) never made
		if err := os.MkdirAll(filepath.Dir(cfg.report), 0o755); err != nil {
			b.Fatalf("write the report: %v", err)
		}
		if err := os.WriteFile(cfg.report, []byte(report), 0o644); err != nil {
			b.Fatalf("write the report: %v", err)
		}
		b.Logf("report written to %s", cfg.report)
	}
}

// benchVariantRound is one round of one variant; it returns the phase
// trace of its no-op build when the frontend printed one.
func benchVariantRound(b *testing.B, c *client.Client, v appVariant, buildDir, registry string, proxy *throttleProxy, name string, res appResults) string {
	b.Helper()
	r := newBenchAppRepo(b)
	ab := &appBuilder{b: b, c: c, v: v, repoDir: r.dir, buildDir: buildDir,
		registry: registry, pushHost: registry, name: name, known: map[string]bool{}}
	pruneAll(b, c)
	runAppSteps(ab, res, v.name, []appStep{
		{"cold", func() {}},
		{"no-op", func() {}},
		{"10 KB commit", func() { commit10KB(r, 1) }},
		{"dependency change", func() { commitDeps(r, "deps-v2") }},
	})
	// ours once more, not timed, with the frontend's phase trace on (an
	// option a frontend without it ignores)
	var trace string
	if v.name == "dapp" {
		traced := *ab
		traced.v.attrs = maps.Clone(v.attrs)
		traced.v.attrs["trace"] = "1"
		if got := traced.build(); got.trace != "" {
			trace = fmt.Sprintf("no-op rebuild, %.2f s with the trace on:\n%s", got.took.Seconds(), got.trace)
		}
	}
	ab.pushHost, ab.name, ab.proxy, ab.known = proxy.addr, name+"-proxy", proxy, map[string]bool{}
	runAppSteps(ab, res, v.name+"/proxy", []appStep{
		{"first push, build cached", func() {}},
		{"no-op", func() {}},
		{"10 KB commit", func() { commit10KB(r, 2) }},
		{"dependency change", func() { commitDeps(r, "deps-v3") }},
	})
	return trace
}

// appStep is one timed case: change the repository, build, push.
type appStep struct {
	kase   string
	change func()
}

// runAppSteps runs steps in order, recording each build under key.
func runAppSteps(ab *appBuilder, res appResults, key string, steps []appStep) {
	ab.b.Helper()
	for _, s := range steps {
		s.change()
		got := ab.build()
		ab.b.Logf("  %s %-24s %7.2f s, pushed %s (through the proxy %s), image %s",
			key, s.kase, got.took.Seconds(), mb(got.pushed), mb(got.proxied), mb(got.imageSize))
		res.add(key, s.kase, got)
	}
}

// parallelRound: the cold build of everything and of each part alone.
type parallelRound struct {
	all   time.Duration
	alone map[string]time.Duration
	// what the CPUs did during the whole build and each part alone
	allCPU   cpuUse
	aloneCPU map[string]cpuUse
	// timeline is when the steps of the whole build ran (stepTimeline)
	timeline string
}

// parallelParts are parallel.Dappfile's targets built alone (the image
// alone with build-arg IMPORTS=none: without its imports).
var parallelParts = []struct{ name, target, imports string }{
	{"artifact assets", "assets", "all"},
	{"artifact pages", "pages", "all"},
	{"image without imports", "app", "none"},
}

// benchParallelRound builds parallel.Dappfile cold, whole and in parts,
// through the frontend image; build only: no export, no push.
func benchParallelRound(b *testing.B, c *client.Client, dapp appVariant, buildDir string, round int) parallelRound {
	b.Helper()
	r := newBenchAppRepo(b)
	pr := parallelRound{alone: map[string]time.Duration{}, aloneCPU: map[string]cpuUse{}}
	build := func(target, imports string) (time.Duration, cpuUse) {
		attrs := maps.Clone(dapp.attrs)
		attrs["filename"], attrs["target"], attrs["build-arg:IMPORTS"] = "parallel.Dappfile", target, imports
		pruneAll(b, c)
		start, cpu0 := time.Now(), sampleCPU()
		_, prog, err := solve(b, c, client.SolveOpt{
			Frontend:      dapp.frontend,
			FrontendAttrs: attrs,
			LocalMounts:   localMounts(b, map[string]string{"context": r.dir, "dockerfile": buildDir}),
		}, nil)
		if err != nil {
			b.Fatalf("parallel.Dappfile, target %s, IMPORTS=%s: %v", target, imports, err)
		}
		took, cpu := time.Since(start), cpu0.to(sampleCPU())
		tl := stepTimeline(prog, start, time.Second)
		b.Logf("round %d: parallel.Dappfile, target %s, IMPORTS=%s: %.1fs, %s; steps of 1 s or more:\n%s",
			round+1, target, imports, took.Seconds(), cpu, tl)
		if imports == "all" && target == "app" {
			pr.timeline = tl
		}
		return took, cpu
	}
	// whole first in even rounds, last in odd ones
	if round%2 == 0 {
		pr.all, pr.allCPU = build("app", "all")
	}
	for _, p := range parallelParts {
		pr.alone[p.name], pr.aloneCPU[p.name] = build(p.target, p.imports)
	}
	if round%2 == 1 {
		pr.all, pr.allCPU = build("app", "all")
	}
	var sum time.Duration
	for _, d := range pr.alone {
		sum += d
	}
	b.Logf("round %d: parallel: all %.1fs, parts alone %.1fs (%.2f×)", round+1, pr.all.Seconds(), sum.Seconds(), float64(pr.all)/float64(sum))
	return pr
}

// cpuSample is what the machine's CPUs and the stack's buildkitd have
// spent so far, in USER_HZ ticks (100 a second on Linux). buildkitd's
// count takes in its reaped children: runc and, through it, every process
// a build step ran.
type cpuSample struct {
	busy, total float64 // /proc/stat, all CPUs
	buildkitd   float64 // -1: unknown
}

func sampleCPU() cpuSample {
	s := cpuSample{buildkitd: -1}
	if data, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(data), "\n")
		// cpu user nice system idle iowait irq softirq steal ...
		for i, f := range strings.Fields(line)[1:] {
			v, _ := strconv.ParseFloat(f, 64)
			if i >= 8 {
				break // guest time is counted in user already
			}
			s.total += v
			if i != 3 && i != 4 {
				s.busy += v
			}
		}
	}
	if pid := os.Getenv("BUILDKITD_PID"); pid != "" {
		if data, err := os.ReadFile("/proc/" + pid + "/stat"); err == nil {
			// after the command name in parentheses: proc(5)'s fields
			// 14-17, utime stime cutime cstime, are f[11:15] here
			_, rest, _ := strings.Cut(string(data), ") ")
			if f := strings.Fields(rest); len(f) > 14 {
				s.buildkitd = 0
				for _, x := range f[11:15] {
					v, _ := strconv.ParseFloat(x, 64)
					s.buildkitd += v
				}
			}
		}
	}
	return s
}

// cpuUse is what the CPUs did between two samples.
type cpuUse struct {
	busy  float64 // share of all the machine's CPUs busy, 0..1
	build float64 // CPU seconds buildkitd and its steps spent; -1: unknown
}

func (a cpuSample) to(b cpuSample) cpuUse {
	u := cpuUse{build: -1}
	if dt := b.total - a.total; dt > 0 {
		u.busy = (b.busy - a.busy) / dt
	}
	if a.buildkitd >= 0 && b.buildkitd >= 0 {
		u.build = (b.buildkitd - a.buildkitd) / 100
	}
	return u
}

func (u cpuUse) String() string {
	build := "unknown"
	if u.build >= 0 {
		build = fmt.Sprintf("%.1f s", u.build)
	}
	return fmt.Sprintf("CPU time of the build %s, machine CPUs %.0f %% busy", build, 100*u.busy)
}

// stepTimeline lists the steps of a build that ran for at least min, in
// the order they started, as seconds since start: when each started, when
// it printed its first output (a step waiting for a locked cache mount
// prints nothing until it has it) and when it ended.
func stepTimeline(p *Progress, start time.Time, min time.Duration) string {
	vs := slices.DeleteFunc(p.Vertices(), func(v Vertex) bool { return !v.Ran() || v.Duration() < min })
	slices.SortStableFunc(vs, func(a, b Vertex) int { return a.Started.Compare(*b.Started) })
	at := func(t *time.Time) string {
		if t == nil {
			return "     -"
		}
		return fmt.Sprintf("%6.1f", t.Sub(start).Seconds())
	}
	var w strings.Builder
	w.WriteString(" start output    end   took  step\n")
	for _, v := range vs {
		fmt.Fprintf(&w, "%s %s %s %6.1f  %s\n", at(v.Started), at(v.FirstLog), at(v.Completed), v.Duration().Seconds(), v.Name)
	}
	return w.String()
}

// ---------------------------------------------------------------- report

// stat is the median and range of some rounds.
type stat struct{ med, lo, hi float64 }

func statOf(xs []float64) stat {
	if len(xs) == 0 {
		return stat{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return stat{med: m, lo: s[0], hi: s[len(s)-1]}
}

func seconds(bs []appBuild) stat {
	var xs []float64
	for _, x := range bs {
		xs = append(xs, x.took.Seconds())
	}
	return statOf(xs)
}

func bytesStat(bs []appBuild, f func(appBuild) int64) stat {
	var xs []float64
	for _, x := range bs {
		xs = append(xs, float64(f(x)))
	}
	return statOf(xs)
}

func (s stat) secs() string {
	if s.lo == s.hi {
		return fmt.Sprintf("%.2f s", s.med)
	}
	return fmt.Sprintf("%.2f s (%.2f–%.2f)", s.med, s.lo, s.hi)
}

func mb(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// target is one issue-14 target: got = ours / reference, met when ≤ limit.
type target struct {
	what  string
	got   float64
	limit float64
}

func (t target) line() string {
	verdict := "**missed**"
	if t.got <= t.limit {
		verdict = "**met**"
	}
	return fmt.Sprintf("- %s: %s × (target ≤ %g ×) — %s", t.what, ratioText(t.got), t.limit, verdict)
}

// ratioText keeps two significant digits of a small ratio.
func ratioText(r float64) string {
	if r < 0.1 {
		return fmt.Sprintf("%.2g", r)
	}
	return fmt.Sprintf("%.2f", r)
}

// loadAverage is the machine's 1-minute load average and its CPU count,
// which say how much the figures of a shared machine can be trusted.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(data))
	if err != nil || len(f) == 0 {
		return "unknown"
	}
	return fmt.Sprintf("%s on %d CPUs", f[0], runtime.NumCPU())
}

func appReport(cfg appBenchConfig, variants []appVariant, res appResults, parallel []parallelRound, trace string, took time.Duration, load string) string {
	var w strings.Builder
	fmt.Fprintf(&w, "Medians of %d round(s), min–max in brackets; pushed = compressed bytes of the blobs the registry "+
		"repository did not have; the whole run took %s (load average %s).\n\n", cfg.rounds, took.Round(time.Second), load)
	var targets []target
	ratio := func(a, b []appBuild, f func([]appBuild) float64) float64 {
		if len(a) == 0 || len(b) == 0 || f(b) == 0 {
			return 0
		}
		return f(a) / f(b)
	}
	medSecs := func(bs []appBuild) float64 { return seconds(bs).med }
	medPushed := func(bs []appBuild) float64 { return bytesStat(bs, func(x appBuild) int64 { return x.pushed }).med }
	medProxied := func(bs []appBuild) float64 { return bytesStat(bs, func(x appBuild) int64 { return x.proxied }).med }
	if len(res) > 0 {
		table := func(title string, suffix string, cases []string, proxied bool) {
			fmt.Fprintf(&w, "%s\n\n| case |", title)
			for _, v := range variants {
				fmt.Fprintf(&w, " %s |", v.title)
			}
			w.WriteString("\n|---|")
			for range variants {
				w.WriteString("---|")
			}
			w.WriteString("\n")
			for _, k := range cases {
				fmt.Fprintf(&w, "| %s |", k)
				for _, v := range variants {
					fmt.Fprintf(&w, " %s |", seconds(res[v.name+suffix][k]).secs())
				}
				w.WriteString("\n")
			}
			for _, k := range cases {
				fmt.Fprintf(&w, "| pushed, %s |", k)
				for _, v := range variants {
					bs := res[v.name+suffix][k]
					bytes := func(x appBuild) int64 { return x.pushed }
					if proxied {
						bytes = func(x appBuild) int64 { return x.proxied }
					}
					fmt.Fprintf(&w, " %s |", mb(int64(bytesStat(bs, bytes).med)))
				}
				w.WriteString("\n")
			}
			w.WriteString("| final image size |")
			for _, v := range variants {
				bs := res[v.name+suffix][cases[len(cases)-1]]
				fmt.Fprintf(&w, " %s |", mb(int64(bytesStat(bs, func(x appBuild) int64 { return x.imageSize }).med)))
			}
			w.WriteString("\n\n")
		}
		table("Build + push to the loopback registry:", "", loopbackCases, false)
		table(fmt.Sprintf("Build + push through a %g Mbit/s proxy in front of the registry, after the loopback cases "+
			"(pushed = request bytes through the proxy, manifests included):", cfg.rateMbit), "/proxy", proxyCases, true)
		d, df, dfi := res["dapp"], res["dockerfile"], res["dockerfile-image"]
		dp, dfp := res["dapp/proxy"], res["dockerfile/proxy"]
		targets = append(targets,
			target{"no-op rebuild, ours ÷ Dockerfile frontend image", ratio(d["no-op"], dfi["no-op"], medSecs), 1},
			target{"10 KB commit, build + push, ours ÷ built-in Dockerfile, loopback registry", ratio(d["10 KB commit"], df["10 KB commit"], medSecs), 1},
			target{fmt.Sprintf("10 KB commit, build + push, ours ÷ built-in Dockerfile, through the %g Mbit/s proxy", cfg.rateMbit), ratio(dp["10 KB commit"], dfp["10 KB commit"], medSecs), 0.5},
			target{"10 KB commit, pushed bytes (blobs new to the repository), ours ÷ built-in Dockerfile, loopback registry", ratio(d["10 KB commit"], df["10 KB commit"], medPushed), 0.02},
			target{"10 KB commit, pushed bytes (through the proxy), ours ÷ built-in Dockerfile", ratio(dp["10 KB commit"], dfp["10 KB commit"], medProxied), 0.02},
			target{"dependency change, ours ÷ built-in Dockerfile", ratio(d["dependency change"], df["dependency change"], medSecs), 1},
			target{"cold, ours ÷ built-in Dockerfile", ratio(d["cold"], df["cold"], medSecs), 1},
		)
	}
	if len(parallel) > 0 {
		w.WriteString("parallel.Dappfile through the frontend image, cold (cache pruned before each build), build only:\n\n")
		w.WriteString("CPU time = what buildkitd and the steps it ran spent (user + system); busy = share of the " +
			"machine's CPUs busy during the build, whoever used them.\n\n")
		w.WriteString("| build | time | CPU time | machine CPUs busy |\n|---|---|---|---|\n")
		var all, sums, allCPU, sumCPU, allBusy []float64
		parts, partsCPU, partsBusy := map[string][]float64{}, map[string][]float64{}, map[string][]float64{}
		for _, pr := range parallel {
			all, allCPU, allBusy = append(all, pr.all.Seconds()), append(allCPU, pr.allCPU.build), append(allBusy, 100*pr.allCPU.busy)
			var sum, cpu float64
			for k, d := range pr.alone {
				parts[k] = append(parts[k], d.Seconds())
				partsCPU[k] = append(partsCPU[k], pr.aloneCPU[k].build)
				partsBusy[k] = append(partsBusy[k], 100*pr.aloneCPU[k].busy)
				sum += d.Seconds()
				cpu += pr.aloneCPU[k].build
			}
			sums, sumCPU = append(sums, sum), append(sumCPU, cpu)
		}
		row := func(name string, secs, cpu, busy []float64) {
			busyText := "–"
			if busy != nil {
				busyText = fmt.Sprintf("%.0f %%", statOf(busy).med)
			}
			cpuText := "unknown"
			if st := statOf(cpu); st.lo >= 0 {
				cpuText = st.secs()
			}
			fmt.Fprintf(&w, "| %s | %s | %s | %s |\n", name, statOf(secs).secs(), cpuText, busyText)
		}
		for _, p := range parallelParts {
			row(p.name+" alone", parts[p.name], partsCPU[p.name], partsBusy[p.name])
		}
		row("sum of the three alone", sums, sumCPU, nil)
		row("two artifacts + image together", all, allCPU, allBusy)
		w.WriteString("\n")
		targets = append(targets, target{"two independent artifacts + image cold ÷ the three built alone", statOf(all).med / statOf(sums).med, 0.7})
		for i, pr := range parallel {
			fmt.Fprintf(&w, "Steps of 1 s or more of the whole build, round %d (seconds since the build started; "+
				"output: the step's first output line):\n\n```\n%s```\n\n", i+1, pr.timeline)
		}
	}
	if len(targets) > 0 {
		w.WriteString("Issue-14 targets (ratios of medians):\n\n")
		for _, t := range targets {
			if t.got == 0 {
				fmt.Fprintf(&w, "- %s: not measured\n", t.what)
				continue
			}
			w.WriteString(t.line() + "\n")
		}
		w.WriteString("\n")
	}
	if trace != "" {
		w.WriteString("Phase trace of ours (`--opt trace=1`), " + strings.Replace(trace, "\n", "\n\n```\n", 1) + "\n```\n")
	} else {
		w.WriteString("Phase trace of ours: the frontend printed none.\n")
	}
	return w.String()
}
