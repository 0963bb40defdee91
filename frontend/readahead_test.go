package frontend

import (
	"bytes"
	"context"
	"encoding/gob"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/flant/dapp-frontend/gitsource"
	"github.com/flant/dapp-frontend/internal/gittest"
	bkllb "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/buildkit/solver/pb"
	"github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/require"
)

// readAheadOf runs the read-ahead subcommand on dir, as the build does,
// and decodes the file it writes.
func readAheadOf(t *testing.T, dir string) readAheadFile {
	t.Helper()
	out := filepath.Join(t.TempDir(), aheadFile)
	require.NoError(t, RunReadAhead([]string{readAheadVersion, dir, out}))
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	var f readAheadFile
	require.NoError(t, gob.NewDecoder(bytes.NewReader(data)).Decode(&f))
	return f
}

// TestReadAheadInBuildNoopBuild: loaded into the frontend's reader, what
// the read-ahead subcommand writes holds everything a no-op build reads
// of .git (the plan, the git-export steps' object files, the
// uncommitted-change check): go-git makes no request of the gateway. And
// the plan comes out as from .git on disk.
func TestReadAheadInBuildNoopBuild(t *testing.T) {
	t.Parallel()
	loose, packed := appRepositories(t, 300, 30)
	for _, tc := range []struct{ name, dir string }{
		{"never gc'd", loose.Dir},
		{"packed, loose on top", packed.Dir},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := readAheadOf(t, tc.dir)
			require.Equal(t, f, readAheadOf(t, tc.dir), "the same .git gives the same file")

			rec := &gatewayRecorder{dirReader: dirReader{root: tc.dir}}
			fs := newReaderFS(context.Background(), rec, ".git").(*readerFS)
			require.NoError(t, fs.load(f))
			convertNoop(t, tc.dir, fs)
			require.Zero(t, rec.figures().calls(), "go-git finds everything in the loaded file:\n%s", rec.dump())

			onDisk, err := gitsource.OpenDir(tc.dir)
			require.NoError(t, err)
			fs = newReaderFS(context.Background(), &dirReader{root: tc.dir}, ".git").(*readerFS)
			require.NoError(t, fs.load(f))
			loaded, err := gitsource.OpenFS(fs)
			require.NoError(t, err)
			require.Equal(t, planSummary(t, onDisk, depsMapping()), planSummary(t, loaded, depsMapping()))
		})
	}
}

// TestReadAheadInBuildStaysInGit: a symlink in .git that leads out of the
// mounted directory is not followed, so nothing outside reaches the file
// (its target's name does: it is what the link holds, as the gateway
// reports it).
func TestReadAheadInBuildStaysInGit(t *testing.T) {
	t.Parallel()
	h := gittest.New(t)
	h.Write("a.txt", "a")
	h.Commit("one")
	secret := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(secret, []byte("TOPSECRET-not-git"), 0o644))
	require.NoError(t, os.Symlink(secret, filepath.Join(h.Dir, ".git", "packed-refs")))
	require.NoError(t, os.Symlink(filepath.Dir(secret), filepath.Join(h.Dir, ".git", "objects", "ab")))
	// a FIFO where git keeps HEAD, which the read-ahead reads first:
	// opening it would block the helper
	require.NoError(t, os.Remove(filepath.Join(h.Dir, ".git", "HEAD")))
	require.NoError(t, syscall.Mkfifo(filepath.Join(h.Dir, ".git", "HEAD"), 0o644))
	out := filepath.Join(t.TempDir(), aheadFile)
	done := make(chan error, 1)
	go func() { done <- RunReadAhead([]string{readAheadVersion, h.Dir, out}) }()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(20 * time.Second):
		t.Fatal("the read-ahead blocked on a FIFO")
	}
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	require.NotContains(t, string(data), "TOPSECRET")
}

// TestReadAheadLoadRefuses: the file comes from the build, so a path
// outside the reader's root, a listing entry that is not a name or a
// negative offset fails the load (the frontend then reads through the
// gateway), and nothing of such a file lands in the caches.
func TestReadAheadLoadRefuses(t *testing.T) {
	t.Parallel()
	for name, f := range map[string]readAheadFile{
		"stat outside":        {Stats: []aheadStat{{Path: ".git/../secret"}}},
		"absolute stat":       {Stats: []aheadStat{{Path: "/etc/passwd"}}},
		"sibling of .git":     {Stats: []aheadStat{{Path: ".gitx/HEAD"}}},
		"absent outside":      {Absent: []string{"other/HEAD"}},
		"dir outside":         {Dirs: []aheadDir{{Path: "src"}}},
		"entry with a slash":  {Dirs: []aheadDir{{Path: ".git", Entries: []aheadStat{{Path: "../x"}}}}},
		"entry dot-dot":       {Dirs: []aheadDir{{Path: ".git", Entries: []aheadStat{{Path: ".."}}}}},
		"span outside":        {Spans: []aheadSpan{{Path: "secret", Data: []byte("x")}}},
		"span not clean":      {Spans: []aheadSpan{{Path: ".git//HEAD", Data: []byte("x")}}},
		"span before the top": {Spans: []aheadSpan{{Path: ".git/HEAD", Off: -1, Data: []byte("x")}}},
	} {
		t.Run(name, func(t *testing.T) {
			fs := newReaderFS(context.Background(), &dirReader{root: t.TempDir()}, ".git").(*readerFS)
			// a valid entry first: nothing is kept when any entry is bad
			f.Stats = append([]aheadStat{{Path: ".git/config", Size: 1}}, f.Stats...)
			require.ErrorContains(t, fs.load(f), "read-ahead of .git")
			require.Empty(t, fs.stats)
			require.Empty(t, fs.dirs)
			require.Empty(t, fs.spans)
		})
	}
}

// TestReaderWaitsForLoad: between beginLoad and endLoad a read the caches
// miss waits, and finds what the load brought instead of asking.
func TestReaderWaitsForLoad(t *testing.T) {
	t.Parallel()
	rec := &gatewayRecorder{dirReader: dirReader{root: t.TempDir()}}
	fs := newReaderFS(context.Background(), rec, ".git").(*readerFS)
	fs.beginLoad()
	got := make(chan string, 1)
	go func() {
		f, err := fs.Open("HEAD")
		if err != nil {
			got <- err.Error()
			return
		}
		buf := make([]byte, 64)
		n, _ := f.Read(buf)
		got <- string(buf[:n])
	}()
	select {
	case s := <-got:
		t.Fatalf("read before the load ended: %q", s)
	case <-time.After(50 * time.Millisecond):
	}
	head := []byte("ref: refs/heads/main\n")
	require.NoError(t, fs.load(readAheadFile{
		Stats: []aheadStat{{Path: ".git/HEAD", Mode: 0o644, Size: int64(len(head))}},
		Spans: []aheadSpan{{Path: ".git/HEAD", Data: head}},
	}))
	fs.endLoad()
	require.Equal(t, string(head), <-got)
	require.Zero(t, rec.figures().calls())
}

// TestReadAheadStateKeyedByContent: the ExecOp's definition names only
// fixed paths and the layout's version, mounts .git and the helper read
// only, has no network, and marshals the same every time, so BuildKit
// keys it by the helper and the content of .git alone.
func TestReadAheadStateKeyedByContent(t *testing.T) {
	t.Parallel()
	marshal := func() (digest.Digest, *pb.ExecOp) {
		st := readAheadState(bkllb.Local("context", bkllb.SessionID("session"), bkllb.IncludePatterns([]string{".git"})), bkllb.Image("helper:dev"),
			ocispecs.Platform{OS: "linux", Architecture: "amd64"})
		def, err := st.Marshal(context.Background())
		require.NoError(t, err)
		var exec *pb.ExecOp
		for _, dt := range def.Def {
			var op pb.Op
			require.NoError(t, op.UnmarshalVT(dt))
			if e := op.GetExec(); e != nil {
				exec = e
			}
		}
		require.NotNil(t, exec)
		return digest.FromBytes(def.Def[len(def.Def)-1]), exec
	}
	d1, exec := marshal()
	d2, _ := marshal()
	require.Equal(t, d1, d2)
	require.Equal(t, []string{"/dapp-helper/dapp-frontend", ReadAheadCommand, readAheadVersion, "/dapp-git", "/out/" + aheadFile}, exec.Meta.Args)
	require.Equal(t, pb.NetMode_NONE, exec.Network)
	for _, m := range exec.Mounts {
		switch m.Dest {
		case "/dapp-helper", "/dapp-git":
			require.True(t, m.Readonly, m.Dest)
		case "/out", "/":
		default:
			t.Fatalf("unexpected mount %s", m.Dest)
		}
	}
}

// lastOp is the digest of st's last op, the one BuildKit runs once per
// build whichever solve asks for it first.
func lastOp(t *testing.T, st bkllb.State) digest.Digest {
	t.Helper()
	def, err := st.Marshal(context.Background())
	require.NoError(t, err)
	return digest.FromBytes(def.Def[len(def.Def)-2])
}

// TestEarlyDotGitIsDotGit: the state Build transfers .git with before the
// Dappfile is read is the very one dotGit gets from dockerui after it,
// so BuildKit runs the transfer once; with another main context it is
// not made at all.
func TestEarlyDotGitIsDotGit(t *testing.T) {
	t.Parallel()
	for name, opts := range map[string]map[string]string{
		"default":                   nil,
		"a session of its own":      {localSessionPrefix + "context": "other-session"},
		"a .dockerignore excluding": {},
	} {
		t.Run(name, func(t *testing.T) {
			files := map[string]string{"Dappfile": "dimg: app\nfrom: alpine\n"}
			if name == "a .dockerignore excluding" {
				files[".dockerignore"] = ".git\n"
			}
			bc, err := dockerui.NewClient(newStub(files, opts))
			require.NoError(t, err)
			want, err := dotGit(context.Background(), bc)
			require.NoError(t, err)
			got, ok := earlyDotGit(bc)
			require.True(t, ok)
			require.Equal(t, lastOp(t, want), lastOp(t, got))
			// what the build never reads of .git is not transferred
			def, err := got.Marshal(context.Background())
			require.NoError(t, err)
			var op pb.Op
			require.NoError(t, op.UnmarshalVT(def.Def[len(def.Def)-2]))
			excludes := op.GetSource().Attrs[pb.AttrExcludePatterns]
			for _, dir := range []string{".git/lfs", ".git/logs", ".git/hooks"} {
				require.Contains(t, excludes, `"`+dir+`"`)
			}
			require.NotContains(t, excludes, ".git/objects")
		})
	}
	for _, opts := range []map[string]string{{keyContextKey: "src"}, {"context": "https://example.com/repo.git"}} {
		bc, err := dockerui.NewClient(newStub(nil, opts))
		require.NoError(t, err)
		_, ok := earlyDotGit(bc)
		require.False(t, ok, "%v", opts)
	}
}

// TestSpeculatedTemplates: the templates' transfer started before the
// Dappfile is read (speculateTemplates, with a dockerui client that has
// not read it) is the one readDappfile asks for when no
// <Dappfile>.dockerignore is there, so BuildKit runs it once; with one,
// the patterns differ and readDappfile's transfer is its own.
func TestSpeculatedTemplates(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		files map[string]string
		same  bool
	}{
		{name: "no ignore file", files: map[string]string{}, same: true},
		{name: ".dockerignore", files: map[string]string{".dockerignore": "node_modules\n*.log\n"}, same: true},
		{name: "Dappfile.dockerignore", files: map[string]string{".dockerignore": "node_modules\n", "Dappfile.dockerignore": "vendor\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.files["Dappfile"] = "dimg: app\nfrom: alpine\n"
			stub := newStub(tc.files, map[string]string{keyFilename: "Dappfile"})
			ctx := context.Background()
			n, opts := templatesNarrowing()

			early, err := dockerui.NewClient(stub)
			require.NoError(t, err)
			require.True(t, localMainContext(early.BuildOpts()))
			speculated, err := narrowedContext(ctx, early, n, opts...)
			require.NoError(t, err)

			bc, err := dockerui.NewClient(stub)
			require.NoError(t, err)
			_, err = bc.ReadEntrypoint(ctx, "YAML")
			require.NoError(t, err)
			read, err := narrowedContext(ctx, bc, n, opts...)
			require.NoError(t, err)
			if tc.same {
				require.Equal(t, lastOp(t, *read), lastOp(t, *speculated))
			} else {
				require.NotEqual(t, lastOp(t, *read), lastOp(t, *speculated))
			}
		})
	}
}
