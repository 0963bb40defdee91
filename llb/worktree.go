package llb

import (
	"github.com/flant/dapp-frontend/dappfile"
)

// WorktreeCheck is the narrowing of the build context the
// uncommitted-change check of Mapping reads through GitOpt.Worktree.
type WorktreeCheck struct {
	Mapping          *dappfile.GitMapping
	Include, Exclude []string
}

// WorktreeChecks lists the uncommitted-change checks the conversion of
// target will run: one per local git mapping of the target and of every
// image and artifact it builds on. The caller may run them (CheckUncommitted)
// and start their transfers as soon as the Dappfile is read, beside the
// reading of .git and the plan, instead of after them; the conversion
// hands every check to GitOpt.Background with its mapping, so one already
// started is not run twice. None in dev mode (the work tree is the
// source, nothing is compared).
func WorktreeChecks(cfg *dappfile.Config, target string, dev bool) []WorktreeCheck {
	if dev {
		return nil
	}
	var out []WorktreeCheck
	for _, im := range TargetImages(cfg, target) {
		for _, m := range im.Git {
			if m.URL == "" {
				out = append(out, worktreeCheck(m))
			}
		}
	}
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
	return WorktreeCheck{Mapping: m, Include: include, Exclude: exclude}
}
