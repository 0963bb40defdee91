package gitsource

import (
	"math"
	"os"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/pkg/errors"
)

// ActionKind is what an Action does to its path.
type ActionKind int

const (
	// ActRm removes the path (a file, a symlink or a directory tree).
	ActRm ActionKind = iota
	// ActMkdir creates a directory with Mode.
	ActMkdir
	// ActMkfile writes a regular file with Mode and the blob's content.
	ActMkfile
	// ActSymlink makes a symlink whose target is the blob's content.
	ActSymlink
)

// Action is one file operation of a step, with a path relative to the
// mapping's `to`. Actions are what a step means independently of how it
// reaches LLB: the inline FileOp emitter (llb/gitllb) and the git-export
// helper (Export) both consume them.
type Action struct {
	Kind ActionKind
	// Rel is the path below the mapping's `to`; "" is `to` itself.
	Rel  string
	Mode os.FileMode
	// hash is the blob of a file or of a symlink's target, in repo (the
	// superproject's repository or a submodule's).
	hash plumbing.Hash
	repo *Repo
}

// Size is the size of what a file or symlink action writes, read from the
// object header: no blob is loaded.
func (a Action) Size() (int64, error) { return a.repo.blobSize(a.hash) }

// Data is the content a file action writes, or a symlink's target.
func (a Action) Data() ([]byte, error) { return a.repo.blobData(a.hash) }

// Blob is the blob a file action writes: the same hash is the same
// content, whichever repository holds it.
func (a Action) Blob() plumbing.Hash { return a.hash }

// FileWarmer is a repository filesystem that can read several files at
// once into a cache its later reads are served from. The frontend's
// filesystem over the gateway is one: there every read is a round trip.
type FileWarmer interface {
	// WarmFiles reads the first limit bytes of each named file (path in
	// the filesystem), the whole file when it is shorter; a file it
	// cannot read is left for the read that needs it to fail.
	WarmFiles(names []string, limit int64)
}

// WarmSizes reads ahead, all at once, what Size of acts will read: the
// start of the loose objects of their blobs (LooseHeaderPrefix), when the
// repository's filesystem is a FileWarmer. A step's sizes are read one
// after another otherwise; packed objects are left to go-git, which
// reads a pack in large chunks anyway.
func WarmSizes(acts []Action) { warmObjects(acts, LooseHeaderPrefix) }

// WarmData is WarmSizes for Data: the whole loose objects, for a step
// written inline (whose size is known to be small).
func WarmData(acts []Action) { warmObjects(acts, math.MaxInt64) }

func warmObjects(acts []Action, limit int64) {
	byRepo := map[*Repo][]string{}
	var repos []*Repo
	for _, a := range acts {
		if (a.Kind != ActMkfile && a.Kind != ActSymlink) || a.repo == nil || !a.repo.isLoose(a.hash) {
			continue
		}
		if _, ok := byRepo[a.repo]; !ok {
			repos = append(repos, a.repo)
		}
		byRepo[a.repo] = append(byRepo[a.repo], looseName(a.hash))
	}
	for _, r := range repos {
		if w, ok := r.fs.(FileWarmer); ok {
			w.WarmFiles(byRepo[r], limit)
		}
	}
}

// DirMode is the mode of every directory a mapping creates.
const DirMode = 0o755

// archiveActions creates every file of the tree: directories first, then
// files and symlinks, all sorted by path.
func (v *view) archiveActions(t node) ([]Action, error) {
	files, err := v.files(t)
	if err != nil {
		return nil, err
	}
	acts := []Action{{Kind: ActMkdir, Rel: "", Mode: DirMode}}
	for _, d := range parentDirs(files) {
		acts = append(acts, Action{Kind: ActMkdir, Rel: d, Mode: DirMode})
	}
	for _, f := range files {
		a, err := fileAction(f)
		if err != nil {
			return nil, err
		}
		acts = append(acts, a)
	}
	return acts, nil
}

// patchActions turns the change a → b into removals (first), directories
// and files. A directory left without files is removed, as `git archive`
// of the new commit would not have it.
func (v *view) patchActions(a, b node) ([]Action, error) {
	changes, err := v.diff(a, b)
	if err != nil {
		return nil, err
	}
	if len(changes) == 0 {
		return nil, nil
	}
	newFiles, err := v.files(b)
	if err != nil {
		return nil, err
	}
	newDirs := map[string]bool{}
	for _, d := range parentDirs(newFiles) {
		newDirs[d] = true
	}
	removedDirs := goneDirs(changes, newDirs)
	var rms, mkdirs, writes []Action
	for _, d := range removedDirs {
		rms = append(rms, Action{Kind: ActRm, Rel: d})
	}
	var added []entry
	for _, c := range changes {
		if c.From != nil && !under(c.Rel, removedDirs) && needsRemoval(c) {
			rms = append(rms, Action{Kind: ActRm, Rel: c.Rel})
		}
		if c.To == nil {
			continue
		}
		added = append(added, *c.To)
		a, err := fileAction(*c.To)
		if err != nil {
			return nil, err
		}
		writes = append(writes, a)
	}
	if len(added) > 0 {
		mkdirs = append(mkdirs, Action{Kind: ActMkdir, Rel: "", Mode: DirMode})
	}
	for _, d := range parentDirs(added) {
		mkdirs = append(mkdirs, Action{Kind: ActMkdir, Rel: d, Mode: DirMode})
	}
	sort.Slice(rms, func(i, j int) bool { return rms[i].Rel < rms[j].Rel })
	return append(append(rms, mkdirs...), writes...), nil
}

// needsRemoval: a deleted path goes; so does a symlink replaced by
// anything or anything replaced by a symlink, because creating a symlink
// fails on an existing path. Regular files are replaced in place.
func needsRemoval(c change) bool {
	return c.To == nil || c.From.Mode == filemode.Symlink || c.To.Mode == filemode.Symlink
}

// goneDirs returns the topmost directories that held a changed path before
// and hold no file of the mapping after.
func goneDirs(changes []change, newDirs map[string]bool) []string {
	gone := map[string]bool{}
	for _, c := range changes {
		if c.From == nil {
			continue
		}
		for _, d := range ancestors(c.Rel) {
			if !newDirs[d] {
				gone[d] = true
				break
			}
		}
	}
	var out []string
	for d := range gone {
		if !under(d, keys(gone)) {
			out = append(out, d)
		}
	}
	sort.Strings(out)
	return out
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// under reports whether p lies strictly below one of dirs.
func under(p string, dirs []string) bool {
	for _, d := range dirs {
		if strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

// ancestors returns the directories above rel, outermost first.
func ancestors(rel string) []string {
	var out []string
	for i := 0; i < len(rel); i++ {
		if rel[i] == '/' {
			out = append(out, rel[:i])
		}
	}
	return out
}

// parentDirs returns every directory that holds one of files, sorted, so
// that a parent always comes before its children.
func parentDirs(files []entry) []string {
	set := map[string]bool{}
	for _, f := range files {
		for _, d := range ancestors(f.Rel) {
			set[d] = true
		}
	}
	out := keys(set)
	sort.Strings(out)
	return out
}

func fileAction(e entry) (Action, error) {
	switch e.Mode {
	case filemode.Regular, filemode.Deprecated:
		return Action{Kind: ActMkfile, Rel: e.Rel, Mode: 0o644, hash: e.Hash, repo: e.repo}, nil
	case filemode.Executable:
		return Action{Kind: ActMkfile, Rel: e.Rel, Mode: 0o755, hash: e.Hash, repo: e.repo}, nil
	case filemode.Symlink:
		return Action{Kind: ActSymlink, Rel: e.Rel, hash: e.Hash, repo: e.repo}, nil
	}
	return Action{}, errors.Errorf("unsupported git mode %s of %q", e.Mode, e.Rel)
}
