package gitsource

import (
	"fmt"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

// MappingStep is one mapping's step at some point of the chain.
type MappingStep struct {
	Plan *MappingPlan
	Step PlanStep
}

// StepActions are the file operations of one step of the plan, in the
// order they must run: the archive of step.To for gitArchive, else the
// patch step.From → step.To. None means the step changes nothing.
func (p *MappingPlan) StepActions(step PlanStep) ([]Action, error) {
	if step.Kind == StepArchive {
		return p.view.actionsBetween(plumbing.ZeroHash, step.To)
	}
	return p.view.actionsBetween(step.From, step.To)
}

// StepTime is the committer time of step.To (UTC): the mtime of what the
// step writes, so a layer does not depend on when it was built.
func (p *MappingPlan) StepTime(step PlanStep) (time.Time, error) {
	to, err := p.view.repo.commit(step.To)
	if err != nil {
		return time.Time{}, err
	}
	return to.Committer.When.UTC(), nil
}

// actionsBetween is the archive of to when from is zero, else the patch
// from → to. The inline emitter and the git-export helper both start here.
func (v *view) actionsBetween(from, to plumbing.Hash) ([]Action, error) {
	toTree, err := v.treeAt(to)
	if err != nil {
		return nil, err
	}
	if from.IsZero() {
		return v.archiveActions(toTree)
	}
	fromTree, err := v.treeAt(from)
	if err != nil {
		return nil, err
	}
	return v.patchActions(fromTree, toTree)
}

func (v *view) treeAt(h plumbing.Hash) (node, error) {
	c, err := v.repo.commit(h)
	if err != nil {
		return node{}, err
	}
	return v.tree(c)
}

func short(h plumbing.Hash) string { return h.String()[:12] }

// String names a step for logs and debug dumps, e.g. "gitArchive@1a2b3c4d5e6f"
// or "patch before install 1a2b3c4d5e6f..7a8b9c0d1e2f".
func (s PlanStep) String() string {
	switch s.Kind {
	case StepArchive:
		return "gitArchive@" + short(s.To)
	case StepStagePatch:
		return fmt.Sprintf("patch before %s %s..%s", s.Stage, short(s.From), short(s.To))
	}
	return fmt.Sprintf("%s %s..%s", s.Kind, short(s.From), short(s.To))
}
