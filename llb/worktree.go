package llb

import (
	"strings"

	"github.com/flant/dapp-frontend/dappfile"
)

// WorktreeCheck is the narrowing of the build context one uncommitted-change
// check asks GitOpt.Worktree for.
type WorktreeCheck struct {
	Include, Exclude []string
}

// key identifies a narrowing: two mappings that narrow the same way share
// one transfer.
func (w WorktreeCheck) key() string {
	return strings.Join(w.Include, "\x00") + "\x01" + strings.Join(w.Exclude, "\x00")
}

// WorktreeChecks lists the work-tree narrowings the conversion of target
// will ask GitOpt.Worktree for (one per distinct narrowing of the local
// git mappings of the target and of every image and artifact it builds
// on), so the caller can start those transfers as soon as the Dappfile is
// read, beside the reading of .git and the plan, instead of after them. It
// is a hint: the conversion asks for what it needs either way. None in
// dev mode (the work tree is the source, nothing is compared).
func WorktreeChecks(cfg *dappfile.Config, target string, dev bool) []WorktreeCheck {
	if dev {
		return nil
	}
	img, err := SelectTarget(cfg, target)
	if err != nil {
		return nil
	}
	byName := map[string]*dappfile.Image{}
	for _, im := range cfg.Images {
		byName[im.Name] = im
	}
	var out []WorktreeCheck
	seenKey := map[string]bool{}
	seenImg := map[*dappfile.Image]bool{}
	var visit func(im *dappfile.Image)
	visit = func(im *dappfile.Image) {
		if im == nil || seenImg[im] {
			return
		}
		seenImg[im] = true
		for _, name := range []string{im.FromDimg, im.FromDimgArtifact} {
			if name != "" {
				visit(byName[name])
			}
		}
		for _, imp := range im.Imports {
			visit(byName[imp.Artifact])
		}
		for _, m := range im.Git {
			if m.URL != "" {
				continue
			}
			w := worktreeCheck(m)
			if k := w.key(); !seenKey[k] {
				seenKey[k] = true
				out = append(out, w)
			}
		}
	}
	visit(img)
	return out
}

// worktreeCheck is the narrowing the uncommitted-change check of m reads:
// the files m can use and, when that is a list of include paths, the
// .gitignore files go-git needs to tell ignored files apart.
func worktreeCheck(m *dappfile.GitMapping) WorktreeCheck {
	include, exclude := contextPatterns(m)
	if len(include) > 0 {
		include = append(include, "**/.gitignore")
	}
	return WorktreeCheck{Include: include, Exclude: exclude}
}
