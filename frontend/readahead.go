package frontend

import (
	"bufio"
	"bytes"
	"context"
	"encoding/gob"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/flant/dapp-frontend/gitsource"
	"github.com/flant/dapp-frontend/llb/gitllb"
	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-git/v5/plumbing"
	bkllb "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerui"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"
	fstypes "github.com/tonistiigi/fsutil/types"
)

// The read-ahead of .git done inside the build. Through the gateway, the
// read-ahead (readerFS.prefetch) is hundreds of requests a build, a few
// milliseconds each, level after level, and the same on a no-op as on a
// commit. Inside the build the frontend binary runs the same read-ahead
// on .git where it lies, as an ExecOp mounting the .git the frontend
// reads, and writes what it read into one file; the frontend reads that
// file and loads it into its reader's caches before go-git starts. The
// ExecOp is keyed by the content of .git, so a no-op finds it cached: the
// frontend then reads one file, and go-git plans from memory.
//
// The file holds only bytes, listings and stats of .git as the read-ahead
// read them, so go-git reads the same either way, and anything the file
// lacks is read through the gateway as before. When the ExecOp cannot
// run (the frontend runs in-process, with no image to run it from) or
// fails, the read-ahead goes through the gateway.

// ReadAheadCommand is the frontend binary's hidden subcommand that runs
// the read-ahead inside the build: `dapp-frontend git-read-ahead DIR OUT`
// reads DIR/.git and writes OUT.
const ReadAheadCommand = "git-read-ahead"

// Mount points of the read-ahead ExecOp, and the file it writes.
const (
	aheadHelperMount = "/dapp-helper"
	aheadGitMount    = "/dapp-git"
	aheadOutMount    = "/out"
	aheadFile        = "git-read-ahead"
)

// readAheadVersion changes with the file's layout; it is in the ExecOp's
// command line, so a new layout never meets an old file in the cache.
const readAheadVersion = "v3"

// maxReadAheadFile bounds the file the frontend reads: the read-ahead's
// own budget (prefetchMaxBytes) and the stats and listings beside it.
const maxReadAheadFile = prefetchMaxBytes + 32<<20

// readAheadFile is what the ExecOp writes: the reader's caches after the
// read-ahead. Paths are the reader's (".git/..."), as the frontend's
// reader names them.
type readAheadFile struct {
	Stats []aheadStat
	// Absent are paths the read-ahead found missing.
	Absent []string
	Dirs   []aheadDir
	Spans  []aheadSpan
	// Blobs are the blobs written beside the file, at
	// gitllb.BlobPath(hash) of the output (aheadBlobs).
	Blobs []string
	// Sizes are the sizes of the loose blobs whose start Spans hold,
	// read from their headers here, so the plan does not inflate each
	// header again (gitsource.KnownSizes).
	Sizes []aheadSize
}

type aheadSize struct {
	Hash string
	Size int64
}

// maxAheadSizes bounds the sizes a read-ahead file may give.
const maxAheadSizes = 1 << 20

// blobSizes reads the sizes of the loose blobs whose start spans holds
// (paths relative to the reader's root, which is .git's).
func blobSizes(root string, spans []aheadSpan) []aheadSize {
	var out []aheadSize
	for _, s := range spans {
		rel, ok := strings.CutPrefix(s.Path, root+"/")
		if !ok || s.Off != 0 {
			continue
		}
		h, ok := gitsource.LooseObjectHash(rel)
		if !ok {
			continue
		}
		if n, ok := gitsource.LooseBlobSize(s.Data[:min(len(s.Data), gitsource.LooseHeaderPrefix)]); ok {
			out = append(out, aheadSize{Hash: h.String(), Size: n})
		}
	}
	return out
}

// Bounds of the blobs the read-ahead writes beside its file: those of the
// newest commits, which a latest patch writes (gitsource.RecentBlobs),
// then those of the files at the top of their trees (gitsource.TopBlobs,
// aheadTopDepth), which a small archive writes, big enough to be copied
// rather than written inline (gitllb.CopyBlobsFrom), 1 MiB in all. The
// build definition then carries none of their content.
var aheadBlobs = gitsource.RecentOpt{
	MaxCommits: 64,
	MaxBytes:   gitsource.DefaultPatchThreshold,
	MaxFiles:   4096,
	MinSize:    gitllb.CopyBlobsFrom,
	MaxSize:    gitsource.DefaultPatchThreshold,
}

// aheadTopDepth is how many folders below the top of HEAD's tree the
// read-ahead looks for blobs (gitsource.TopBlobs; older commits give their
// top): a lock file lives at the top of a project, which may be one folder
// of a repository.
const aheadTopDepth = 1

type aheadStat struct {
	Path     string
	Mode     uint32
	Size     int64
	ModTime  int64
	Linkname string
}

type aheadDir struct {
	Path    string
	Entries []aheadStat
}

type aheadSpan struct {
	Path string
	Off  int64
	Data []byte
}

func toAheadStat(p string, st *fstypes.Stat) aheadStat {
	return aheadStat{Path: p, Mode: st.Mode, Size: st.Size, ModTime: st.ModTime, Linkname: st.Linkname}
}

func (s aheadStat) stat() *fstypes.Stat {
	return &fstypes.Stat{Path: s.Path, Mode: s.Mode, Size: s.Size, ModTime: s.ModTime, Linkname: s.Linkname}
}

// snapshot is what the reader's caches hold, sorted by path, so the same
// reads always write the same file.
func (fs *readerFS) snapshot() readAheadFile {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var out readAheadFile
	for p, st := range fs.stats {
		if st == nil {
			out.Absent = append(out.Absent, p)
			continue
		}
		out.Stats = append(out.Stats, toAheadStat(p, st))
	}
	for p, sts := range fs.dirs {
		d := aheadDir{Path: p}
		for _, st := range sts {
			d.Entries = append(d.Entries, toAheadStat(path.Base(st.Path), st))
		}
		out.Dirs = append(out.Dirs, d)
	}
	// the bytes of each file as runs of contiguous bytes: spans and
	// chunks overlap, and split differently by the order the reads came
	// back in
	pieces := map[string][]span{}
	for p, spans := range fs.spans {
		pieces[p] = append(pieces[p], spans...)
	}
	for k, dt := range fs.chunks {
		pieces[k.name] = append(pieces[k.name], span{off: k.idx * fs.chunkSize, data: dt})
	}
	for p, ps := range pieces {
		for _, run := range contiguous(ps) {
			out.Spans = append(out.Spans, aheadSpan{Path: p, Off: run.off, Data: run.data})
		}
	}
	sort.Slice(out.Stats, func(i, j int) bool { return out.Stats[i].Path < out.Stats[j].Path })
	sort.Strings(out.Absent)
	sort.Slice(out.Dirs, func(i, j int) bool { return out.Dirs[i].Path < out.Dirs[j].Path })
	sort.Slice(out.Spans, func(i, j int) bool {
		a, b := out.Spans[i], out.Spans[j]
		return a.Path < b.Path || a.Path == b.Path && a.Off < b.Off
	})
	return out
}

// contiguous merges pieces of one file (the same bytes where they
// overlap: the file never changes) into runs of contiguous bytes.
func contiguous(pieces []span) []span {
	sort.Slice(pieces, func(i, j int) bool {
		return pieces[i].off < pieces[j].off || pieces[i].off == pieces[j].off && len(pieces[i].data) > len(pieces[j].data)
	})
	var out []span
	for _, p := range pieces {
		if n := len(out); n > 0 && p.off <= out[n-1].end() {
			last := &out[n-1]
			if p.end() > last.end() {
				last.data = append(last.data[:len(last.data):len(last.data)], p.data[last.end()-p.off:]...)
			}
			continue
		}
		out = append(out, span{off: p.off, data: p.data})
	}
	return out
}

// load adds what f holds to the caches. f comes from the build, whose
// .git is as hostile as the context: every path must lie below the
// reader's root, every listing entry be a plain name, and the caches keep
// their bounds.
func (fs *readerFS) load(f readAheadFile) error {
	root := strings.TrimPrefix(fs.root, "/")
	inRoot := func(p string) error {
		if p != path.Clean(p) || path.IsAbs(p) || (p != root && !strings.HasPrefix(p, root+"/")) {
			return errors.Errorf("the read-ahead of .git names %q, outside %s", p, root)
		}
		return nil
	}
	for _, s := range f.Stats {
		if err := inRoot(s.Path); err != nil {
			return err
		}
	}
	for _, p := range f.Absent {
		if err := inRoot(p); err != nil {
			return err
		}
	}
	for _, d := range f.Dirs {
		if err := inRoot(d.Path); err != nil {
			return err
		}
		for _, e := range d.Entries {
			if e.Path == "" || e.Path == "." || e.Path == ".." || strings.Contains(e.Path, "/") {
				return errors.Errorf("the read-ahead of .git lists %q in %s, not a name", e.Path, d.Path)
			}
		}
	}
	for _, s := range f.Spans {
		if err := inRoot(s.Path); err != nil {
			return err
		}
		if s.Off < 0 {
			return errors.Errorf("the read-ahead of .git holds %s at offset %d", s.Path, s.Off)
		}
	}
	if len(f.Sizes) > maxAheadSizes {
		return errors.Errorf("the read-ahead of .git gives %d blob sizes, more than %d", len(f.Sizes), maxAheadSizes)
	}
	sizes := make(map[plumbing.Hash]int64, len(f.Sizes))
	for _, s := range f.Sizes {
		h, ok := gitsource.ParseHash(s.Hash)
		if !ok || s.Size < 0 {
			return errors.Errorf("the read-ahead of .git gives blob %q the size %d", s.Hash, s.Size)
		}
		sizes[h] = s.Size
	}
	for _, s := range f.Stats {
		fs.keepStat(s.Path, s.stat())
	}
	for _, p := range f.Absent {
		fs.keepStat(p, nil)
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, d := range f.Dirs {
		sts := make([]*fstypes.Stat, 0, len(d.Entries))
		for _, e := range d.Entries {
			sts = append(sts, e.stat())
		}
		if fs.dirs == nil {
			fs.dirs = map[string][]*fstypes.Stat{}
		}
		if len(fs.dirs) < maxCachedStats {
			fs.dirs[d.Path] = sts
		}
	}
	for _, s := range f.Spans {
		fs.keepSpanLocked(s.Path, s.Off, s.Data)
	}
	fs.sizes = sizes
	return nil
}

// readAheadState is the ExecOp that reads .git ahead inside the build:
// the frontend binary of helper runs on dotgit (the state with .git at
// /.git) and writes aheadFile. The command line names only fixed paths and
// the layout's version, so the op is keyed by the helper and the content
// of .git. No network; the root is empty, as the helper is static.
func readAheadState(dotgit, helper bkllb.State, platform ocispecs.Platform) bkllb.State {
	run := bkllb.Scratch().Run(
		bkllb.Args([]string{aheadHelperMount + gitllb.HelperBinary, ReadAheadCommand, readAheadVersion,
			aheadGitMount, path.Join(aheadOutMount, aheadFile)}),
		bkllb.Dir("/"),
		bkllb.AddMount(aheadHelperMount, helper, bkllb.Readonly),
		bkllb.AddMount(aheadGitMount, dotgit, bkllb.Readonly),
		bkllb.Network(bkllb.NetModeNone),
		bkllb.Platform(platform),
		bkllb.WithCustomName("[internal] read .git ahead for the plan"),
	)
	return run.AddMount(aheadOutMount, bkllb.Scratch())
}

// RunReadAhead is the subcommand ReadAheadCommand: args are the layout's
// version, the directory holding .git and the file to write.
func RunReadAhead(args []string) error {
	if len(args) != 3 || args[0] != readAheadVersion {
		return errors.Errorf("usage: %s %s DIR OUT (run by the frontend inside the build)", ReadAheadCommand, readAheadVersion)
	}
	root, err := os.OpenRoot(args[1])
	if err != nil {
		return err
	}
	defer root.Close()
	r := rootReader{root}
	// the blobs are read through a reader of their own, so that they do
	// not land in the file, and beside the read-ahead, which they do not
	// wait for: after a commit this step's time is the build's, and on a
	// repository of 200 commits the two one after the other took 160 ms,
	// side by side 120
	blobs := make(chan []string, 1)
	go func() {
		blobs <- writeAheadBlobs(newReaderFS(context.Background(), r, ".git"), filepath.Dir(args[2]))
	}()
	fs := newReaderFS(context.Background(), r, ".git").(*readerFS)
	fs.prefetch(r)
	snap := fs.snapshot()
	snap.Sizes = blobSizes(strings.TrimPrefix(fs.root, "/"), snap.Spans)
	snap.Blobs = <-blobs
	out, err := os.OpenFile(args[2], os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(out, 1<<20)
	if err := gob.NewEncoder(w).Encode(snap); err != nil {
		out.Close()
		return errors.Wrap(err, "failed to write the read-ahead")
	}
	if err := w.Flush(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// writeAheadBlobs writes the blobs of the newest commits and of the
// files at the top of their trees (aheadBlobs, aheadTopDepth) below dir,
// at gitllb.BlobPath, and returns those written whole. It is best effort:
// a blob it cannot write is left out, and the build writes it from its
// content then.
func writeAheadBlobs(dotgit billy.Filesystem, dir string) []string {
	repo, err := gitsource.OpenFS(dotgit)
	if err != nil {
		return nil
	}
	head, err := repo.Head()
	if err != nil {
		return nil
	}
	hashes, err := gitsource.RecentBlobs(repo, head, aheadBlobs)
	if err != nil {
		return nil
	}
	// the files at the top of the newest commits' trees (and one folder
	// down in HEAD's), in what their changes left of the budget: a small
	// archive (an install stage's lock file, at the commit the archive
	// was cut at) is written inline, and its big files come from here
	var used int64
	listed := make(map[plumbing.Hash]bool, len(hashes))
	for _, h := range hashes {
		n, err := repo.BlobSize(h)
		if err != nil {
			return nil
		}
		used += n
		listed[h] = true
	}
	top := aheadBlobs
	top.MaxBytes -= used
	if more, err := gitsource.TopBlobs(repo, head, aheadTopDepth, listed, top); err == nil {
		hashes = append(hashes, more...)
	}
	if len(hashes) == 0 {
		return nil
	}
	if err := os.Mkdir(filepath.Join(dir, gitllb.BlobsDir), 0o755); err != nil {
		return nil
	}
	var out []string
	for _, h := range hashes {
		if writeBlob(repo, h, filepath.Join(dir, gitllb.BlobPath(h)), aheadBlobs.MaxSize) == nil {
			out = append(out, h.String())
		}
	}
	return out
}

// writeBlob writes blob h to name, refusing one longer than max: its
// object's header, which RecentBlobs sized it by, comes from the build
// context.
func writeBlob(repo *gitsource.Repo, h plumbing.Hash, name string, max int64) (err error) {
	rd, err := repo.OpenBlob(h)
	if err != nil {
		return err
	}
	defer rd.Close()
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(name)
		}
	}()
	n, err := io.Copy(f, io.LimitReader(rd, max+1))
	if err == nil && n > max {
		err = errors.Errorf("blob %s is longer than %d bytes", h, max)
	}
	return err
}

// rootReader is a fileReader over a directory on disk. os.Root keeps
// every path inside it: a symlink of .git that leads out is not followed.
type rootReader struct{ root *os.Root }

func (r rootReader) ReadFile(_ context.Context, req gwclient.ReadRequest) ([]byte, error) {
	// only regular files: a FIFO or a device planted in .git would block
	// the read, or read what is not .git's
	fi, err := r.root.Stat(req.Filename)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, errors.Errorf("%s is not a regular file", req.Filename)
	}
	f, err := r.root.Open(req.Filename)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if req.Range == nil {
		return io.ReadAll(io.LimitReader(f, readChunk))
	}
	if req.Range.Offset < 0 || req.Range.Length < 0 {
		return nil, errors.Errorf("invalid range of %s", req.Filename)
	}
	buf := make([]byte, min(req.Range.Length, readChunk*4))
	n, err := f.ReadAt(buf, int64(req.Range.Offset))
	if err != nil && err != io.EOF {
		return nil, err
	}
	return buf[:n], nil
}

func (r rootReader) ReadDir(_ context.Context, req gwclient.ReadDirRequest) ([]*fstypes.Stat, error) {
	f, err := r.root.Open(req.Path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ents, err := f.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	out := make([]*fstypes.Stat, 0, len(ents))
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil {
			continue
		}
		out = append(out, fileStat(e.Name(), fi, r.linkname(path.Join(req.Path, e.Name()), fi)))
	}
	return out, nil
}

func (r rootReader) StatFile(_ context.Context, req gwclient.StatRequest) (*fstypes.Stat, error) {
	fi, err := r.root.Lstat(req.Path)
	if err != nil {
		return nil, err
	}
	return fileStat(req.Path, fi, r.linkname(req.Path, fi)), nil
}

func (r rootReader) linkname(p string, fi os.FileInfo) string {
	if fi.Mode()&os.ModeSymlink == 0 {
		return ""
	}
	l, err := r.root.Readlink(p)
	if err != nil {
		return ""
	}
	return l
}

func fileStat(p string, fi os.FileInfo, linkname string) *fstypes.Stat {
	return &fstypes.Stat{Path: p, Mode: uint32(fi.Mode()), Size: fi.Size(), ModTime: fi.ModTime().UnixNano(), Linkname: linkname}
}

// readAheadHelper is the frontend binary the read-ahead runs inside the
// build with, or nil when there is none (the frontend runs in-process
// and no git-helper-image is set): .git is then read ahead through the
// gateway.
func readAheadHelper(ctx context.Context, bc *dockerui.Client, opt options) func(context.Context) (bkllb.State, error) {
	helper := frontendBinary(bc, opt, "the read-ahead of .git runs the frontend binary inside the build")
	if _, err := helper(ctx); err != nil {
		return nil
	}
	return helper
}

// aheadSpeculation is what speculateReadAhead started before the Dappfile
// was read: the solve of .git and the read-ahead's, its file read and
// decoded. contextGit takes them from here rather than asking the daemon
// again, which would be another Solve call, and another round of the
// file's reads, on the build's critical path.
type aheadSpeculation struct {
	gitDone chan struct{}
	gitRef  gwclient.Reference
	gitErr  error

	fileDone chan struct{}
	file     readAheadFile
	size     int64
	fileErr  error
	// state is the read-ahead's output, which holds the blobs of file
	state bkllb.State
}

// dotGitRef waits for the speculative solve of .git.
func (s *aheadSpeculation) dotGitRef(ctx context.Context) (gwclient.Reference, error) {
	select {
	case <-s.gitDone:
		return s.gitRef, s.gitErr
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// readAhead waits for the speculative read-ahead's file.
func (s *aheadSpeculation) readAhead(ctx context.Context) (readAheadFile, int64, bkllb.State, error) {
	select {
	case <-s.fileDone:
		return s.file, s.size, s.state, s.fileErr
	case <-ctx.Done():
		return readAheadFile{}, 0, bkllb.State{}, context.Cause(ctx)
	}
}

// speculateReadAhead solves .git and the read-ahead inside the build, and
// reads the read-ahead's file, before the Dappfile is found and read, so
// that all of it is under way while the Dappfile is transferred. It
// reads only c's options, and starts only when the main context is the
// client's directory: dotGit's state is then earlyDotGit's, the one
// solved here. The returned func cancels it, for a Dappfile that maps no
// git; it runs in wg. nil when it did not start.
func speculateReadAhead(ctx context.Context, c gwclient.Client, wg *sync.WaitGroup) (*aheadSpeculation, func()) {
	none := func() {}
	bc, err := dockerui.NewClient(c)
	if err != nil {
		return nil, none
	}
	opt, err := parseOptions(bc.BuildOpts().Opts)
	if err != nil {
		return nil, none
	}
	helper := readAheadHelper(ctx, bc, opt)
	dotgit, ok := earlyDotGit(bc)
	if helper == nil || !ok {
		return nil, none
	}
	sctx, cancel := context.WithCancel(ctx)
	s := &aheadSpeculation{gitDone: make(chan struct{}), fileDone: make(chan struct{})}
	wg.Go(func() {
		defer close(s.gitDone)
		s.gitRef, s.gitErr = solveRef(sctx, bc.GatewayClient(), dotgit)
	})
	wg.Go(func() {
		defer close(s.fileDone)
		h, err := helper(sctx)
		if err != nil {
			s.fileErr = err
			return
		}
		s.state = readAheadState(dotgit, h, workerPlatform(bc))
		s.file, s.size, s.fileErr = loadReadAhead(sctx, bc.GatewayClient(), s.state)
	})
	return s, cancel
}

// readAheadInBuild loads the read-ahead ExecOp's file into rfs: the one
// speculateReadAhead read when it ran, else solved and read now. It is
// counted as the io row git-read-ahead of the trace.
func (g *contextGit) readAheadInBuild(ctx context.Context, rfs *readerFS) error {
	start := time.Now()
	var size int64
	defer func() { tracerFrom(ctx).add(ioGitReadAhead, true, time.Since(start), size, 1) }()
	var f readAheadFile
	var st bkllb.State
	var err error
	if g.spec != nil {
		f, size, st, err = g.spec.readAhead(ctx)
	} else {
		f, size, st, err = g.loadReadAhead(ctx)
	}
	if err != nil {
		return err
	}
	if err := rfs.load(f); err != nil {
		return err
	}
	return g.keepBlobs(st, f.Blobs)
}

func (g *contextGit) loadReadAhead(ctx context.Context) (readAheadFile, int64, bkllb.State, error) {
	helper, err := g.helper(ctx)
	if err != nil {
		return readAheadFile{}, 0, bkllb.State{}, err
	}
	dotgit, err := dotGit(ctx, g.bc)
	if err != nil {
		return readAheadFile{}, 0, bkllb.State{}, err
	}
	st := readAheadState(dotgit, helper, workerPlatform(g.bc))
	f, size, err := loadReadAhead(ctx, g.bc.GatewayClient(), st)
	return f, size, st, err
}

// keepBlobs remembers the blobs the read-ahead wrote beside its file, in
// its output st, for blobSource. The list comes from the build: a name
// that is not a hash fails the read-ahead's load, so nothing is kept.
func (g *contextGit) keepBlobs(st bkllb.State, blobs []string) error {
	held := make(map[plumbing.Hash]bool, len(blobs))
	for _, b := range blobs {
		h, ok := gitsource.ParseHash(b)
		if !ok {
			return errors.Errorf("the read-ahead of .git names a blob %q that is not a hash", b)
		}
		held[h] = true
	}
	g.blobsMu.Lock()
	defer g.blobsMu.Unlock()
	g.aheadState, g.aheadBlobs = st, held
	return nil
}

// blobSource is the read-ahead's output when it holds blob h
// (gitllb.BlobSource).
func (g *contextGit) blobSource(h plumbing.Hash) (bkllb.State, bool) {
	g.blobsMu.Lock()
	defer g.blobsMu.Unlock()
	if !g.aheadBlobs[h] {
		return bkllb.State{}, false
	}
	return g.aheadState, true
}

// loadReadAhead solves the read-ahead state st and decodes its file.
func loadReadAhead(ctx context.Context, c gwclient.Client, st bkllb.State) (readAheadFile, int64, error) {
	ref, err := solveRef(ctx, c, st)
	if err != nil {
		return readAheadFile{}, 0, err
	}
	data, err := readWholeFile(ctx, ref, aheadFile, maxReadAheadFile)
	if err != nil {
		return readAheadFile{}, 0, err
	}
	var f readAheadFile
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&f); err != nil {
		return readAheadFile{}, 0, errors.Wrap(err, "failed to decode the read-ahead of .git")
	}
	return f, int64(len(data)), nil
}

// readWholeFile reads name of ref, at most max bytes, in requests of
// readChunk run side by side.
func readWholeFile(ctx context.Context, ref gwclient.Reference, name string, max int64) ([]byte, error) {
	st, err := ref.StatFile(ctx, gwclient.StatRequest{Path: name})
	if err != nil {
		return nil, err
	}
	if st.Size < 0 || st.Size > max {
		return nil, fmt.Errorf("%s is %d bytes, more than %d", name, st.Size, max)
	}
	out := make([]byte, st.Size)
	g := newGroup(prefetchParallel)
	var mu sync.Mutex
	var firstErr error
	for off := int64(0); off < st.Size; off += readChunk {
		n := min(readChunk, st.Size-off)
		g.run(func() {
			dt, err := ref.ReadFile(ctx, gwclient.ReadRequest{Filename: name, Range: &gwclient.FileRange{Offset: int(off), Length: int(n)}})
			if err == nil && int64(len(dt)) != n {
				err = fmt.Errorf("%s: read %d bytes at %d, expected %d", name, len(dt), off, n)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				return
			}
			copy(out[off:], dt)
		})
	}
	g.wait()
	return out, firstErr
}
