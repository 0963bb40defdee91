//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// throttleProxy is a reverse proxy in front of the registry whose request
// and response bodies each pass a token bucket of the same rate, as a real
// link to a registry is: BenchmarkApp pushes to its address to see what a
// build costs when the registry is not on the loopback. sent counts the
// request body bytes that went through it (what a push uploaded).
type throttleProxy struct {
	addr string
	sent atomic.Int64
}

// throttleBurst is the token bucket's depth: small enough that the rate
// holds for each request of a push, big enough for few waits per read.
const throttleBurst = 64 << 10

// startThrottleProxy serves on a free loopback port until the benchmark
// ends, forwarding to registry (host:port) at bytesPerSec each way.
func startThrottleProxy(tb testing.TB, registry string, bytesPerSec float64) *throttleProxy {
	tb.Helper()
	target, err := url.Parse("http://" + registry)
	if err != nil {
		tb.Fatalf("registry address %q: %v", registry, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen for the throttling proxy: %v", err)
	}
	// Named localhost, not 127.0.0.1: to BuildKit another registry than
	// the one behind it, so a push uploads what the registry has under
	// another name instead of mounting it, as a first push to a remote
	// registry does.
	p := &throttleProxy{addr: "localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)}
	up := rate.NewLimiter(rate.Limit(bytesPerSec), throttleBurst)
	down := rate.NewLimiter(rate.Limit(bytesPerSec), throttleBurst)
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			// The registry writes upload locations from the Host it is
			// asked for: keep the proxy's, so every request comes back here.
			r.Out.Host = r.In.Host
			if r.Out.Body != nil && r.Out.Body != http.NoBody {
				r.Out.Body = &throttledBody{ctx: r.In.Context(), rc: r.Out.Body, lim: up, count: &p.sent, left: r.In.ContentLength}
			}
		},
		ModifyResponse: func(resp *http.Response) error {
			resp.Body = &throttledBody{ctx: resp.Request.Context(), rc: resp.Body, lim: down, left: -1}
			return nil
		},
	}
	srv := &http.Server{Handler: rp}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	tb.Cleanup(func() {
		srv.Close()
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			tb.Errorf("throttling proxy: %v", err)
		}
	})
	return p
}

// throttledBody reads rc no faster than lim allows, counting into count
// when set. left is what is left of a known length (else -1).
type throttledBody struct {
	ctx   context.Context
	rc    io.ReadCloser
	lim   *rate.Limiter
	count *atomic.Int64
	left  int64
}

func (t *throttledBody) Read(p []byte) (int, error) {
	if t.left == 0 {
		return 0, io.EOF
	}
	if len(p) > throttleBurst {
		p = p[:throttleBurst]
	}
	n, err := t.rc.Read(p)
	if n > 0 {
		if t.count != nil {
			t.count.Add(int64(n))
		}
		if werr := t.lim.WaitN(t.ctx, n); werr != nil && err == nil {
			err = werr
		}
	}
	if t.left >= 0 {
		t.left -= int64(n)
		// A request body ends with its last byte, without another read
		// of the incoming body: the server may close that body once the
		// response is on its way (the proxy answers as soon as the
		// upstream does), and the transport reads once more past the
		// length to check it.
		if t.left <= 0 && err == nil {
			t.left, err = 0, io.EOF
		}
	}
	return n, err
}

func (t *throttledBody) Close() error { return t.rc.Close() }

// TestThrottleProxy: a body through the proxy takes at least its size over
// the rate (less the bucket's depth), is counted, arrives whole, and the
// upstream sees the proxy's Host (what keeps a registry's upload
// locations on the proxy).
func TestThrottleProxy(t *testing.T) {
	t.Parallel()
	const size, rate = 256 << 10, 2 << 20 // 0.125 s at 2 MiB/s, less the burst
	type seen struct {
		host string
		n    int64
	}
	seenc := make(chan seen, 1)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		seenc <- seen{r.Host, n}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Write(make([]byte, size))
	}))
	defer upstream.Close()
	p := startThrottleProxy(t, strings.TrimPrefix(upstream.URL, "http://"), rate)

	start := time.Now()
	resp, err := http.Post("http://"+p.addr+"/v2/x/blobs/uploads/", "application/octet-stream", bytes.NewReader(make([]byte, size)))
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	up := <-seenc
	if err != nil || n != size || up.n != size {
		t.Fatalf("sent %d, upstream got %d, response %d (%v): want %d each", size, up.n, n, err, size)
	}
	// both directions wait: (size-burst)/rate each way at least
	if min := 2 * time.Duration(float64(size-throttleBurst)/rate*float64(time.Second)); took < min {
		t.Errorf("%d bytes each way took %v: want at least %v at %d B/s", size, took, min, rate)
	}
	if p.sent.Load() != size {
		t.Errorf("counted %d request bytes, want %d", p.sent.Load(), size)
	}
	if up.host != p.addr {
		t.Errorf("upstream saw Host %q, want the proxy's %q", up.host, p.addr)
	}
}
