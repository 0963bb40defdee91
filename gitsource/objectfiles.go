package gitsource

import (
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
	"github.com/pkg/errors"
)

// MaxExportLooseObjects bounds the loose objects ExportFiles names: each
// is a path the build definition carries and BuildKit hashes, and git
// packs loose objects long before (gc.auto is 6700), so only a repository
// that never ran gc gets past it; its exports then read the whole .git.
const MaxExportLooseObjects = 4096

// MaxExportPacks bounds the pack indexes ExportFiles decodes: git keeps
// a handful (gc repacks past gc.autoPackLimit, 50); a repository with
// more keeps the whole .git for its exports.
const MaxExportPacks = 256

// NarrowHead is the HEAD file of a .git narrowed to ExportFiles: go-git
// opens a repository only with a HEAD, and the export reads commits by
// hash, never through a ref.
const NarrowHead = "ref: refs/heads/dapp-export\n"

// ExportFiles lists the files of the repository's .git directory (paths
// relative to it, sorted) that hold every object the git-export of spec
// reads: its commits, the trees it walks and the blobs it writes — the
// pack files (index and pack) that hold any of them and the loose
// objects that hold the rest.
//
// Git never rewrites an object file, so these files stay the same while
// commits land on top (until a repack): an export step that mounts only
// them is keyed by what it reads, and a new commit reruns only the steps
// that read its objects, where a step mounting all of .git would rerun
// whenever anything in it changed.
//
// ok is false when the export would read outside them, or ExportFiles
// cannot tell: a submodule in the view (its objects live in modules/),
// alternates, an object the repository does not hold (the export then
// fails and says so), more than MaxExportLooseObjects loose objects.
func (r *Repo) ExportFiles(spec ExportSpec) (files []string, ok bool, err error) {
	// the view the helper builds from spec, so its reads are the helper's
	v, err := newView(r, spec.Add, spec.Include, spec.Exclude, spec.File)
	if err != nil {
		return nil, false, err
	}
	acts, err := v.actionsBetween(spec.From, spec.To)
	if err != nil {
		return nil, false, err
	}
	if len(v.modules) > 0 || len(v.left) > 0 {
		return nil, false, nil
	}
	objs := map[plumbing.Hash]bool{spec.To: true}
	if !spec.From.IsZero() {
		objs[spec.From] = true
	}
	for h := range v.trees {
		objs[h] = true
	}
	for _, a := range acts {
		if a.Kind == ActMkfile || a.Kind == ActSymlink {
			if a.repo != r {
				return nil, false, nil
			}
			objs[a.hash] = true
		}
	}
	hs := make([]plumbing.Hash, 0, len(objs))
	for h := range objs {
		hs = append(hs, h)
	}
	return r.objectFiles(hs)
}

// objectFiles locates objects: the packs that hold any of them (a pack
// is self-contained: git completes thin packs when it stores them) and
// the loose files of the others. An object in several places is taken
// from the first pack by name, so the choice depends on the repository
// alone.
func (r *Repo) objectFiles(hs []plumbing.Hash) ([]string, bool, error) {
	if _, err := r.fs.Stat("objects/info/alternates"); err == nil {
		return nil, false, nil
	}
	packs, err := r.packIndexes()
	if errors.Is(err, errTooManyPacks) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	used := make([]bool, len(packs))
	var files []string
	loose := 0
	for _, h := range hs {
		found := false
		for i, p := range packs {
			if in, err := p.idx.Contains(h); err == nil && in {
				used[i], found = true, true
				break
			}
		}
		if found {
			continue
		}
		hex := h.String()
		lp := path.Join("objects", hex[:2], hex[2:])
		if fi, err := r.fs.Stat(lp); err != nil || !fi.Mode().IsRegular() {
			return nil, false, nil
		}
		if loose++; loose > MaxExportLooseObjects {
			return nil, false, nil
		}
		files = append(files, lp)
	}
	for i, p := range packs {
		if used[i] {
			files = append(files, p.name+".idx", p.name+".pack")
		}
	}
	sort.Strings(files)
	return files, true, nil
}

var errTooManyPacks = errors.Errorf("more than %d pack files", MaxExportPacks)

type packIndex struct {
	name string // objects/pack/pack-<hash>, without the extension
	idx  *idxfile.MemoryIndex
}

// packIndexes decodes the pack indexes once per repository, in the order
// of their names. go-git decodes the same files to read objects, so this
// reads no byte it does not.
func (r *Repo) packIndexes() ([]packIndex, error) {
	r.packsOnce.Do(func() { r.packs, r.packsErr = r.readPackIndexes() })
	return r.packs, r.packsErr
}

func (r *Repo) readPackIndexes() ([]packIndex, error) {
	ents, err := r.fs.ReadDir("objects/pack")
	if err != nil {
		// no pack directory: every object is loose
		return nil, nil
	}
	have := map[string]bool{}
	for _, e := range ents {
		have[e.Name()] = e.Mode().IsRegular()
	}
	var out []packIndex
	names := 0
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".idx") {
			if names++; names > MaxExportPacks {
				return nil, errTooManyPacks
			}
		}
	}
	for _, e := range ents {
		base, isIdx := strings.CutSuffix(e.Name(), ".idx")
		if !isIdx || !isPackName(base) || !have[e.Name()] || !have[base+".pack"] {
			// git names packs by their hash; any other name is not
			// one git wrote, and never becomes a path of the build
			continue
		}
		name := path.Join("objects/pack", base)
		f, err := r.fs.Open(name + ".idx")
		if err != nil {
			return nil, errors.Wrapf(err, "failed to read %s.idx", name)
		}
		idx := idxfile.NewMemoryIndex()
		err = idxfile.NewDecoder(f).Decode(idx)
		f.Close()
		if err != nil {
			return nil, errors.Wrapf(err, "failed to read %s.idx", name)
		}
		out = append(out, packIndex{name: name, idx: idx})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// isPackName reports pack-<hex hash> (SHA-1 or SHA-256).
func isPackName(base string) bool {
	h, ok := strings.CutPrefix(base, "pack-")
	if !ok || (len(h) != 40 && len(h) != 64) {
		return false
	}
	return isHex(h)
}

// isHex reports lower-case hexadecimal, as git names objects and packs.
func isHex(s string) bool { return strings.Trim(s, "0123456789abcdef") == "" }

// ParseHash is the object hash s names, ok false unless s is one as git
// writes it (40 lower-case hexadecimal digits): a name from the build
// context or the build is refused rather than read as another.
func ParseHash(s string) (plumbing.Hash, bool) {
	if len(s) != 40 || !isHex(s) {
		return plumbing.ZeroHash, false
	}
	return plumbing.NewHash(s), true
}

// packIndexCache is the lazily decoded pack indexes of a Repo.
type packIndexCache struct {
	packsOnce sync.Once
	packs     []packIndex
	packsErr  error
}

// ExportFiles is Repo.ExportFiles on the repository p was planned on.
func (p *MappingPlan) ExportFiles(spec ExportSpec) ([]string, bool, error) {
	return p.view.repo.ExportFiles(spec)
}
