//go:build e2e

package e2e

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// Two CI runners: buildkitd instances of their own (state, socket) that
// share nothing but the registry, reached through a proxy that counts what
// each build pulls and pushes.

// runner is a buildkitd of its own: one CI runner.
type runner struct {
	t testing.TB
	*buildkitd
}

// startRunner starts a runner that reaches the registry at registry.
func startRunner(t testing.TB, registry string) *runner {
	t.Helper()
	return &runner{t: t, buildkitd: startBuildkitdFor(t, registry)}
}

// buildctl runs `buildctl build --progress plain ARGS…` on the runner.
func (r *runner) buildctl(args ...string) CmdResult {
	r.t.Helper()
	return runCmd(r.t, cleanEnv("BUILDKIT_HOST="+r.addr), binPath(r.t, "buildctl"),
		append([]string{"build", "--progress", "plain"}, args...)...)
}

// regProxy is a reverse proxy in front of the test registry that counts
// the blob bytes going through it: pulled (GET of a blob) and pushed
// (bodies of blob uploads), and which blobs were uploaded.
type regProxy struct {
	Host string // host:port to use in references
	mu   sync.Mutex
	regTraffic
}

// regTraffic is what went through the proxy since the last reset.
type regTraffic struct {
	Pulled, Pushed int64
	// PulledFrom is Pulled by repository ("dapp-frontend", …).
	PulledFrom map[string]int64
	// Uploaded are the digests of the blobs uploaded (a blob the
	// registry already has, or mounts from another repository, is not).
	Uploaded []string
}

var blobGet = regexp.MustCompile(`^/v2/(.+)/blobs/sha256:[0-9a-f]{64}$`)

func startRegProxy(t testing.TB, registry string) *regProxy {
	t.Helper()
	target := &url.URL{Scheme: "http", Host: registry}
	p := &regProxy{}
	rp := httputil.NewSingleHostReverseProxy(target)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p.Host = ln.Addr().String()
	rp.ModifyResponse = func(resp *http.Response) error {
		// upload locations must come back through the proxy
		if loc := resp.Header.Get("Location"); loc != "" {
			resp.Header.Set("Location", strings.Replace(loc, "//"+registry+"/", "//"+p.Host+"/", 1))
		}
		if m := blobGet.FindStringSubmatch(resp.Request.URL.Path); m != nil && resp.Request.Method == http.MethodGet && resp.StatusCode == http.StatusOK {
			resp.Body = &countingBody{ReadCloser: resp.Body, add: func(n int) { p.addPull(m[1], n) }}
		}
		return nil
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.Contains(req.URL.Path, "/blobs/uploads/") && (req.Method == http.MethodPatch || req.Method == http.MethodPut) && req.Body != nil {
			req.Body = &countingBody{ReadCloser: req.Body, add: func(n int) { p.add(&p.Pushed, n) }}
			if d := req.URL.Query().Get("digest"); req.Method == http.MethodPut && d != "" {
				p.mu.Lock()
				p.Uploaded = append(p.Uploaded, d)
				p.mu.Unlock()
			}
		}
		rp.ServeHTTP(w, req)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return p
}

func (p *regProxy) addPull(repo string, k int) {
	p.mu.Lock()
	p.Pulled += int64(k)
	if p.PulledFrom == nil {
		p.PulledFrom = map[string]int64{}
	}
	p.PulledFrom[repo] += int64(k)
	p.mu.Unlock()
}

func (p *regProxy) add(n *int64, k int) {
	p.mu.Lock()
	*n += int64(k)
	p.mu.Unlock()
}

// take returns the traffic since the last take and starts counting anew.
func (p *regProxy) take() regTraffic {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.regTraffic
	p.regTraffic = regTraffic{}
	return out
}

// Image is a reference to the test registry through the proxy.
func (p *regProxy) Image(nameTag string) string { return p.Host + "/" + nameTag }

// manifest fetches the image manifest of name@dgst through the proxy
// (not counted: manifests are not blobs).
func (p *regProxy) manifest(t testing.TB, name, dgst string) ocispecManifest {
	t.Helper()
	req, err := http.NewRequestWithContext(testContext(t), http.MethodGet, "http://"+p.Host+"/v2/"+name+"/manifests/"+dgst, nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "manifest %s@%s", name, dgst)
	var m ocispecManifest
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&m))
	return m
}

// ocispecManifest is the part of an image manifest the tests read.
type ocispecManifest struct {
	Layers []struct {
		Digest string `json:"digest"`
		Size   int64  `json:"size"`
	} `json:"layers"`
}

type countingBody struct {
	io.ReadCloser
	add func(int)
}

func (c *countingBody) Read(b []byte) (int, error) {
	n, err := c.ReadCloser.Read(b)
	c.add(n)
	return n, err
}

// plainProgress is the `--progress plain` output of buildctl or buildx,
// read per vertex: its name (the first line of its number) and the lines
// that followed.
type plainProgress struct {
	Raw   string
	names map[string]string
	lines map[string][]string
	order []string
}

var plainLine = regexp.MustCompile(`^#(\d+) (.*)$`)

func parsePlain(out string) *plainProgress {
	p := &plainProgress{Raw: out, names: map[string]string{}, lines: map[string][]string{}}
	for _, l := range strings.Split(out, "\n") {
		m := plainLine.FindStringSubmatch(strings.TrimRight(l, "\r"))
		if m == nil {
			continue
		}
		if _, ok := p.names[m[1]]; !ok {
			p.names[m[1]] = m[2]
			p.order = append(p.order, m[1])
			continue
		}
		p.lines[m[1]] = append(p.lines[m[1]], m[2])
	}
	return p
}

// fromCache reports whether vertex id was a cache hit: a CACHED line, or
// nothing but pulling and unpacking layers. BuildKit reports the pull of
// a cache hit's lazy layers (from a registry cache, when a later step runs
// on them) under the step, and that report can end it without CACHED.
func (p *plainProgress) fromCache(id string) bool {
	if slices.Contains(p.lines[id], "CACHED") {
		return true
	}
	pulled := false
	for _, l := range p.lines[id] {
		switch {
		case layerPull.MatchString(l):
			pulled = true
		// "..." is where another vertex's lines cut in
		case !strings.HasPrefix(l, "DONE ") && l != "..." && l != p.names[id]:
			return false
		}
	}
	return pulled
}

// layerPull is a progress line of a layer being downloaded or unpacked.
var layerPull = regexp.MustCompile(`^(extracting )?sha256:[0-9a-f]{64}( |$)`)

// ran returns the vertices whose name starts with prefix and that were
// not cache hits.
func (p *plainProgress) ran(prefix string) []string {
	var out []string
	for _, id := range p.order {
		if strings.HasPrefix(p.names[id], prefix) && !p.fromCache(id) {
			out = append(out, p.names[id])
		}
	}
	return out
}

// ranSteps are the build steps that were not cache hits: the vertices
// named "[…] …" but for loading the context, resolving or pulling images
// and the toolchain.
func (p *plainProgress) ranSteps() []string {
	var out []string
	for _, id := range p.order {
		n := p.names[id]
		if !strings.HasPrefix(n, "[") || p.fromCache(id) || strings.Contains(n, "] FROM ") {
			continue
		}
		if strings.HasPrefix(n, "[internal]") || strings.HasPrefix(n, "[context ") || strings.HasPrefix(n, "[auth]") || strings.HasPrefix(n, "[dapp] toolchain") {
			continue
		}
		out = append(out, n)
	}
	return out
}

// count is the number of vertices whose name starts with prefix.
func (p *plainProgress) count(prefix string) int {
	n := 0
	for _, id := range p.order {
		if strings.HasPrefix(p.names[id], prefix) {
			n++
		}
	}
	return n
}

// metadataDigest reads containerimage.digest from a --metadata-file.
func metadataDigest(t testing.TB, file string) string {
	t.Helper()
	dt, err := os.ReadFile(file)
	require.NoError(t, err)
	var md map[string]any
	require.NoError(t, json.Unmarshal(dt, &md))
	d, _ := md["containerimage.digest"].(string)
	require.NotEmpty(t, d, "no containerimage.digest in %s", dt)
	return d
}
