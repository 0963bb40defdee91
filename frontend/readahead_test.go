package frontend

import (
	"bytes"
	"context"
	"encoding/gob"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flant/dapp-frontend/gitsource"
	"github.com/flant/dapp-frontend/internal/gittest"
	"github.com/flant/dapp-frontend/llb/gitllb"
	"github.com/go-git/go-git/v5/plumbing"
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
		"size of a non-hash":  {Sizes: []aheadSize{{Hash: "../../HEAD", Size: 1}}},
		"size of a short one": {Sizes: []aheadSize{{Hash: strings.Repeat("a", 39), Size: 1}}},
		"negative size":       {Sizes: []aheadSize{{Hash: strings.Repeat("a", 40), Size: -1}}},
	} {
		t.Run(name, func(t *testing.T) {
			fs := newReaderFS(context.Background(), &dirReader{root: t.TempDir()}, ".git").(*readerFS)
			// a valid entry first: nothing is kept when any entry is bad
			f.Stats = append([]aheadStat{{Path: ".git/config", Size: 1}}, f.Stats...)
			require.ErrorContains(t, fs.load(f), "read-ahead of .git")
			require.Empty(t, fs.stats)
			require.Empty(t, fs.dirs)
			require.Empty(t, fs.spans)
			require.Empty(t, fs.sizes)
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
			want, err := mainContextDotGit(context.Background(), bc)
			require.NoError(t, err)
			got, ok := earlyDotGit(bc)
			require.True(t, ok)
			require.Equal(t, lastOp(t, want), lastOp(t, got))
			// dotGit hands out the early state without reading .dockerignore
			fresh := newStub(files, opts)
			fbc, err := dockerui.NewClient(fresh)
			require.NoError(t, err)
			st, err := dotGit(context.Background(), fbc)
			require.NoError(t, err)
			require.Equal(t, lastOp(t, got), lastOp(t, st))
			require.Empty(t, fresh.solved, "dotGit solved something")
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

// transferred is a local source the build solved, and its name.
type transferred struct {
	name string
	src  *pb.SourceOp
}

// localSources are the local sources of stub's solves, in their order.
func localSources(t *testing.T, stub *stubClient) []transferred {
	t.Helper()
	var out []transferred
	for _, def := range stub.solved {
		for _, dt := range def.Def {
			var op pb.Op
			require.NoError(t, op.UnmarshalVT(dt))
			if src := op.GetSource(); src != nil && strings.HasPrefix(src.Identifier, "local://") {
				name := def.Metadata[string(digest.FromBytes(dt))].Description["llb.customname"]
				out = append(out, transferred{name: strings.TrimPrefix(name, "[internal] "), src: src})
			}
		}
	}
	return out
}

// TestBuildTransfersOnlyWhatTheDappfileNeeds: a Dappfile without template
// actions and without git transfers neither the templates nor
// .dockerignore (each would be a solve of the daemon's for nothing); one
// with an action transfers both, .dockerignore first as its patterns
// narrow the templates' transfer.
func TestBuildTransfersOnlyWhatTheDappfileNeeds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, dappfile string
		want           []string
	}{
		{name: "plain", dappfile: "dimg: app\nfrom: alpine\n", want: []string{"load build definition from Dappfile"}},
		{name: "templated", dappfile: "dimg: app\n{{ include \"base\" . }}\n",
			want: []string{"load build definition from Dappfile", "load .dockerignore", "load .dappfiles, .werf templates"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			stub := newStub(map[string]string{"Dappfile": tc.dappfile, ".dockerignore": "node_modules\n",
				".dappfiles/base.tmpl": `{{ define "base" }}from: alpine{{ end }}`}, map[string]string{keyFilename: "Dappfile"})
			_, err := Build(context.Background(), stub)
			require.NoError(t, err)
			var got []string
			for _, l := range localSources(t, stub) {
				got = append(got, l.name)
			}
			require.Equal(t, tc.want, got)
		})
	}
}

// filesOf reads the files below dir, .git included, for newStub.
func filesOf(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(data)
		return err
	}))
	return out
}

// TestDockerignoreComesWithGit: when .git is transferred, .dockerignore
// comes in the same transfer and no transfer of its own is made; its
// patterns narrow the work tree the uncommitted-change check reads, as
// dockerui's would. The Dappfile's own ignore file wins, as in dockerui.
func TestDockerignoreComesWithGit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		extra  map[string]string
		ignore string
	}{
		{name: ".dockerignore", extra: map[string]string{".dockerignore": "secret.txt\n"}, ignore: "secret.txt"},
		{name: "Dappfile.dockerignore", extra: map[string]string{".dockerignore": "secret.txt\n", "Dappfile.dockerignore": "vendor\n"}, ignore: "vendor"},
		{name: "none", extra: map[string]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := gittest.New(t)
			h.Write("app.js", "console.log(1)\n")
			h.Commit("one")
			files := filesOf(t, h.Dir)
			files["Dappfile"] = "dimg: app\nfrom: alpine\ngit:\n- add: /\n  to: /app\n"
			for k, v := range tc.extra {
				files[k] = v
			}
			stub := newStub(files, map[string]string{keyFilename: "Dappfile"})
			_, err := Build(context.Background(), stub)
			require.NoError(t, err)
			var names, worktreeExcludes []string
			for _, l := range localSources(t, stub) {
				names = append(names, l.name)
				if l.src.Identifier == "local://context" && !strings.Contains(l.src.Attrs[pb.AttrIncludePatterns], ".git") {
					worktreeExcludes = append(worktreeExcludes, l.src.Attrs[pb.AttrExcludePatterns])
				}
			}
			require.NotContains(t, names, "load .dockerignore", "a transfer of its own")
			require.Equal(t, 1, stub.dotGits, ".git transferred once, .dockerignore with it")
			require.Len(t, worktreeExcludes, 1, "the uncommitted-change check's work tree: %v", names)
			if tc.ignore != "" {
				require.Contains(t, worktreeExcludes[0], `"`+tc.ignore+`"`)
			}
			require.NotContains(t, worktreeExcludes[0], map[bool]string{true: "secret.txt", false: "\x00"}[tc.name == "Dappfile.dockerignore"])
		})
	}
}

// TestMainContextIsDockeruis: the main context's state made here, with the
// patterns read from the transfer of .git, is the one dockerui makes with
// the same .dockerignore, whatever options narrow it, and for a session of
// the context's own.
func TestMainContextIsDockeruis(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, opts := range []map[string]string{nil, {localSessionPrefix + "context": "other-session"}} {
		files := map[string]string{"Dappfile": "dimg: app\nfrom: alpine\n", ".dockerignore": "node_modules\n*.log\n"}
		bc, err := dockerui.NewClient(newStub(files, opts))
		require.NoError(t, err)
		own, err := dockerui.NewClient(newStub(files, opts))
		require.NoError(t, err)
		m := &mainContext{bc: own, ignore: &contextIgnore{}}
		m.ignore.once.Do(func() { m.ignore.patterns, m.ignore.own = []string{"node_modules", "*.log"}, true })
		for _, narrow := range [][]bkllb.LocalOption{nil, {bkllb.IncludePatterns([]string{"src"}), bkllb.SharedKeyHint("context-src")}} {
			want, err := bc.MainContext(ctx, narrow...)
			require.NoError(t, err)
			got, err := m.state(ctx, narrow...)
			require.NoError(t, err)
			require.Equal(t, lastOp(t, *want), lastOp(t, *got))
		}
	}
}

// TestReadAheadWritesRecentBlobs: beside its file, the read-ahead writes
// the blobs of the newest commits that are big enough to be copied
// (gitllb.CopyBlobsFrom), lists them, and keeps their content out of the
// file; keepBlobs takes only hashes from that list.
func TestReadAheadWritesRecentBlobs(t *testing.T) {
	t.Parallel()
	h := gittest.New(t)
	big := strings.Repeat("big line\n", 4<<10)
	h.Write("big.txt", big)
	h.Write("small.txt", "small\n")
	h.Commit("one")
	dir := t.TempDir()
	out := filepath.Join(dir, aheadFile)
	require.NoError(t, RunReadAhead([]string{readAheadVersion, h.Dir, out}))
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	require.NotContains(t, string(data), big[:1000], "the blob's content stays out of the file")
	var f readAheadFile
	require.NoError(t, gob.NewDecoder(bytes.NewReader(data)).Decode(&f))
	want := plumbing.ComputeHash(plumbing.BlobObject, []byte(big))
	require.Equal(t, []string{want.String()}, f.Blobs)
	written, err := os.ReadFile(filepath.Join(dir, gitllb.BlobPath(want)))
	require.NoError(t, err)
	require.Equal(t, big, string(written))

	g := &contextGit{}
	require.NoError(t, g.keepBlobs(bkllb.Scratch(), f.Blobs))
	_, ok := g.blobSource(want)
	require.True(t, ok)
	_, ok = g.blobSource(plumbing.ComputeHash(plumbing.BlobObject, []byte("small\n")))
	require.False(t, ok)
	for _, bad := range []string{"../../etc/passwd", strings.ToUpper(want.String()), want.String()[:39]} {
		require.Error(t, (&contextGit{}).keepBlobs(bkllb.Scratch(), []string{bad}), bad)
	}
}

// TestReadAheadGivesLooseBlobSizes: the read-ahead inflates the headers of
// the loose blobs the plan sizes and gives their sizes; loaded into the
// frontend's reader, the repository takes them from there, and a size the
// read-ahead gave is the one used (the frontend inflates nothing).
func TestReadAheadGivesLooseBlobSizes(t *testing.T) {
	t.Parallel()
	h := gittest.New(t)
	content := strings.Repeat("line\n", 1<<10)
	h.Write("a.txt", content)
	h.Commit("one")
	f := readAheadOf(t, h.Dir)
	blob := plumbing.ComputeHash(plumbing.BlobObject, []byte(content))
	require.Contains(t, f.Sizes, aheadSize{Hash: blob.String(), Size: int64(len(content))})

	fs := newReaderFS(context.Background(), &dirReader{root: h.Dir}, ".git").(*readerFS)
	// a size no header could give, to tell where the answer came from
	for i := range f.Sizes {
		if f.Sizes[i].Hash == blob.String() {
			f.Sizes[i].Size = 7
		}
	}
	require.NoError(t, fs.load(f))
	n, ok := fs.LooseBlobSize(blob)
	require.True(t, ok)
	require.Equal(t, int64(7), n)
	_, ok = fs.LooseBlobSize(plumbing.ComputeHash(plumbing.BlobObject, []byte("absent\n")))
	require.False(t, ok)
	repo, err := gitsource.OpenFS(fs)
	require.NoError(t, err)
	head, err := repo.Head()
	require.NoError(t, err)
	// listed only when sized 7: its header says 5 KiB
	got, err := gitsource.RecentBlobs(repo, head, gitsource.RecentOpt{MaxCommits: 1, MaxBytes: 1 << 20, MaxFiles: 10, MinSize: 1, MaxSize: 8})
	require.NoError(t, err)
	require.Equal(t, []plumbing.Hash{blob}, got)
}

// TestReadAheadWritesTopBlobs: a big file at the top of HEAD's tree that
// no recent commit changed (here, the newest commit alone is past the
// budget) is written too, and a deeper one is not.
func TestReadAheadWritesTopBlobs(t *testing.T) {
	t.Parallel()
	h := gittest.New(t)
	lock := strings.Repeat("lock line\n", 3<<10)
	deep := strings.Repeat("deep line\n", 3<<10)
	h.Write("package-lock.json", lock)
	h.Write("web/src/deep.json", deep)
	h.Commit("one")
	h.Write("huge.bin", strings.Repeat("h", int(gitsource.DefaultPatchThreshold)+1))
	h.Commit("two")
	f := readAheadOf(t, h.Dir)
	require.Equal(t, []string{plumbing.ComputeHash(plumbing.BlobObject, []byte(lock)).String()}, f.Blobs)
}
