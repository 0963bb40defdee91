package llb

import (
	"slices"
	"strings"

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

// SharedWorktrees gives every check the narrowing it reads when checks
// whose narrowings leave out the same paths share one transfer of the
// work tree: the union of their include paths (none when one of them
// takes everything), their common exclude patterns. Each check still
// keeps only its mapping's files (gitsource.Repo.Uncommitted filters),
// and the repository compares a shared work tree with HEAD once. Checks
// whose exclude patterns differ are not merged: a path one of them leaves
// out may be one another reads, and patterns cannot be intersected. A
// check alone in its group keeps its narrowing. The result is in the
// order of checks.
func SharedWorktrees(checks []WorktreeCheck) []WorktreeCheck {
	out := make([]WorktreeCheck, len(checks))
	groups := map[string][]int{}
	var order []string
	for i, c := range checks {
		key := patternsKey(c.Exclude)
		if _, ok := groups[key]; !ok {
			order = append(order, key)
		}
		groups[key] = append(groups[key], i)
	}
	for _, key := range order {
		if len(groups[key]) == 1 {
			i := groups[key][0]
			out[i] = checks[i]
			continue
		}
		var include []string
		whole := false
		for _, i := range groups[key] {
			if len(checks[i].Include) == 0 {
				whole = true
			}
			include = append(include, checks[i].Include...)
		}
		if whole {
			include = nil
		} else {
			slices.Sort(include)
			include = slices.Compact(include)
		}
		for _, i := range groups[key] {
			out[i] = WorktreeCheck{Mapping: checks[i].Mapping, Include: include, Exclude: checks[i].Exclude}
		}
	}
	return out
}

// patternsKey is a set of patterns as a map key: the same patterns in
// any order give the same key.
func patternsKey(ps []string) string {
	return strings.Join(slices.Compact(slices.Sorted(slices.Values(ps))), "\x00")
}
