// Package stages turns one image or artifact of a Dappfile into dapp's
// ordered stage list: which stages exist, in which order, and what feeds each
// of them (commands, cacheVersions, imports, git mappings, mount points).
// The order is written once, here (order): the llb package walks the list
// and emits one vertex per non-empty stage, and the git planner takes from
// it which user stages a git patch may precede (GitPatchTargets). It
// builds no LLB.
package stages

import (
	"github.com/flant/dapp-frontend/dappfile"
)

// ID names a stage the way dapp does; it also appears in progress output.
type ID string

// The stages of an image, in build order (see order). Artifacts stop
// after ImportsAfterSetup and add BuildArtifact.
const (
	From                 ID = "from"
	BeforeInstall        ID = "beforeInstall"
	ImportsBeforeInstall ID = "importsBeforeInstall"
	GitArchive           ID = "gitArchive"
	// GitPatch brings local git sources up to the pin of the user stage
	// that follows it (Stage.User), when that stage's stageDependencies
	// changed since the archive.
	GitPatch            ID = "gitPatch"
	Install             ID = "install"
	ImportsAfterInstall ID = "importsAfterInstall"
	BeforeSetup         ID = "beforeSetup"
	ImportsBeforeSetup  ID = "importsBeforeSetup"
	Setup               ID = "setup"
	ImportsAfterSetup   ID = "importsAfterSetup"
	BuildArtifact       ID = "buildArtifact"
	GitCache            ID = "gitCache"
	GitLatestPatch      ID = "gitLatestPatch"
	// MountPoints leaves the targets of `mount:` directives as empty
	// directories in the result, as dapp did: BuildKit removes the mount
	// points it creates for a step.
	MountPoints        ID = "mountPoints"
	DockerInstructions ID = "dockerInstructions"
)

// Kind says how a stage is built.
type Kind int

const (
	// KindFrom is the base: an image reference or another image's result.
	KindFrom Kind = iota
	// KindUser runs the commands of a shell section or the tasks of an
	// ansible section.
	KindUser
	// KindImports copies files out of artifacts.
	KindImports
	// KindGit puts git sources into the image.
	KindGit
	// KindDocker sets the image config; it adds no layer.
	KindDocker
	// KindMountPoints creates the `mount:` targets as empty directories.
	KindMountPoints
)

// Stage is one step of the chain with everything that feeds it.
type Stage struct {
	ID   ID
	Kind Kind
	// User is the user stage behind a KindUser stage, and the one a
	// GitPatch stage precedes.
	User dappfile.StageName
	// Commands run in order in one build step (KindUser, shell).
	Commands []string
	// Tasks are the stage's ansible tasks, one playbook run in one build
	// step (KindUser, ansible).
	Tasks []*dappfile.AnsibleTask
	// CacheVersions change the stage's cache key without reaching the
	// image: fromCacheVersion for KindFrom; for KindUser the shell-wide
	// cacheVersion and `<stage>CacheVersion`, in that order.
	CacheVersions []string
	// Imports are applied at this point (KindImports).
	Imports []*dappfile.Import
	// Git holds the mappings of KindGit stages.
	Git []*dappfile.GitMapping
	// Ranges point at the Dappfile lines this stage comes from.
	Ranges []dappfile.Range
}

// slot is one place of the build order.
type slot struct {
	id   ID
	kind Kind
	// user: the shell stage of a KindUser slot, the stage a GitPatch
	// precedes, the stage imports go before or after.
	user dappfile.StageName
	// before: imports before user (else after it).
	before bool
	// only limits the slot to images or to artifacts; any when unset.
	only *dappfile.Kind
	// after marks the git stages after the last patch (gitCache,
	// gitLatestPatch).
	after bool
}

var (
	images    = dappfile.KindImage
	artifacts = dappfile.KindArtifact
)

// order is every stage of dapp's build order, the one list the llb
// package and the git planner derive theirs from.
var order = []slot{
	{id: From, kind: KindFrom},
	{id: BeforeInstall, kind: KindUser, user: dappfile.BeforeInstall},
	{id: ImportsBeforeInstall, kind: KindImports, user: dappfile.Install, before: true},
	{id: GitArchive, kind: KindGit},
	{id: GitPatch, kind: KindGit, user: dappfile.Install},
	{id: Install, kind: KindUser, user: dappfile.Install},
	{id: ImportsAfterInstall, kind: KindImports, user: dappfile.Install},
	{id: GitPatch, kind: KindGit, user: dappfile.BeforeSetup},
	{id: BeforeSetup, kind: KindUser, user: dappfile.BeforeSetup},
	{id: ImportsBeforeSetup, kind: KindImports, user: dappfile.Setup, before: true},
	{id: GitPatch, kind: KindGit, user: dappfile.Setup},
	{id: Setup, kind: KindUser, user: dappfile.Setup},
	{id: ImportsAfterSetup, kind: KindImports, user: dappfile.Setup},
	// an artifact's sources change only through stageDependencies
	{id: GitPatch, kind: KindGit, user: dappfile.BuildArtifact, only: &artifacts},
	{id: BuildArtifact, kind: KindUser, user: dappfile.BuildArtifact, only: &artifacts},
	{id: GitCache, kind: KindGit, only: &images, after: true},
	{id: GitLatestPatch, kind: KindGit, only: &images, after: true},
	// after the last stage that runs commands, before the config
	{id: MountPoints, kind: KindMountPoints},
	{id: DockerInstructions, kind: KindDocker, only: &images},
}

func (sl slot) in(k dappfile.Kind) bool { return sl.only == nil || *sl.only == k }

// Chain returns the stages of img in build order. Stages with nothing to do
// are left out, except the git stages: whether a gitCache or gitLatestPatch
// layer is needed depends on the repository history, which only the git
// code knows, so they are listed whenever the image has git mappings.
func Chain(img *dappfile.Image) []Stage {
	var chain []Stage
	for _, sl := range order {
		if !sl.in(img.Kind) {
			continue
		}
		if s := sl.stage(img); s != nil {
			chain = append(chain, *s)
		}
	}
	return chain
}

func (sl slot) stage(img *dappfile.Image) *Stage {
	switch sl.kind {
	case KindFrom:
		s := fromStage(img)
		return &s
	case KindUser:
		return userStage(img, sl.id, sl.user)
	case KindImports:
		return importStage(img, sl.id, sl.before, sl.user)
	case KindGit:
		switch {
		case sl.id == GitPatch:
			return gitPatchStage(img, sl.user)
		case sl.after && img.DisableGitAfterPatch:
			// werf's disableGitAfterPatch
			return nil
		}
		return gitStage(img, sl.id)
	case KindMountPoints:
		return mountPointsStage(img)
	case KindDocker:
		if img.Docker == nil {
			return nil
		}
		return &Stage{ID: DockerInstructions, Kind: KindDocker, Ranges: []dappfile.Range{img.Docker.Loc}}
	}
	return nil
}

// GitPatchTargets are the user stages a GitPatch point may precede in an
// image of kind k, in build order: the stages whose stageDependencies
// the git planner pins.
func GitPatchTargets(k dappfile.Kind) []dappfile.StageName {
	var out []dappfile.StageName
	for _, sl := range order {
		if sl.id == GitPatch && sl.in(k) {
			out = append(out, sl.user)
		}
	}
	return out
}

// Follows says whether stage st comes after user stage name in the build
// order. The gitPatch before name does not: it belongs to name (werf
// applies it in the stage's container); the imports after name do.
func Follows(st Stage, name dappfile.StageName) bool {
	return position(st) > userPosition(name)
}

func position(st Stage) int {
	for i, sl := range order {
		if sl.id == st.ID && (sl.id != GitPatch || sl.user == st.User) {
			return i
		}
	}
	return -1
}

func userPosition(name dappfile.StageName) int {
	for i, sl := range order {
		if sl.kind == KindUser && sl.user == name {
			return i
		}
	}
	return -1
}

// BeforeGitArchive says whether user stage name runs before the
// gitArchive stage, so it never sees the git sources.
func BeforeGitArchive(name dappfile.StageName) bool {
	for _, sl := range order {
		switch {
		case sl.id == GitArchive:
			return false
		case sl.kind == KindUser && sl.user == name:
			return true
		}
	}
	return false
}

func fromStage(img *dappfile.Image) Stage {
	s := Stage{ID: From, Kind: KindFrom, Ranges: []dappfile.Range{img.FromLoc}}
	s.CacheVersions = append(s.CacheVersions, img.CacheVersion...)
	if img.FromCacheVersion != "" {
		s.CacheVersions = append(s.CacheVersions, img.FromCacheVersion)
	}
	return s
}

func userStage(img *dappfile.Image, id ID, name dappfile.StageName) *Stage {
	if img.Ansible != nil {
		return ansibleStage(img.Ansible, id, name)
	}
	if img.Shell == nil {
		return nil
	}
	sc := img.Shell.Stages[name]
	if sc == nil || len(sc.Commands) == 0 {
		return nil
	}
	s := &Stage{ID: id, Kind: KindUser, User: name, Commands: sc.Commands, Ranges: []dappfile.Range{sc.Loc}}
	for _, v := range []string{img.Shell.CacheVersion, sc.CacheVersion} {
		if v != "" {
			s.CacheVersions = append(s.CacheVersions, v)
		}
	}
	return s
}

func ansibleStage(an *dappfile.Ansible, id ID, name dappfile.StageName) *Stage {
	st := an.Stages[name]
	if st == nil || len(st.Tasks) == 0 {
		return nil
	}
	s := &Stage{ID: id, Kind: KindUser, User: name, Tasks: st.Tasks, Ranges: []dappfile.Range{st.Loc}}
	for _, v := range []string{an.CacheVersion, st.CacheVersion} {
		if v != "" {
			s.CacheVersions = append(s.CacheVersions, v)
		}
	}
	return s
}

func importStage(img *dappfile.Image, id ID, before bool, at dappfile.StageName) *Stage {
	s := &Stage{ID: id, Kind: KindImports}
	for _, imp := range img.Imports {
		if imp.Point.Before == before && imp.Point.Stage == at {
			s.Imports = append(s.Imports, imp)
			s.Ranges = append(s.Ranges, imp.Loc)
		}
	}
	if len(s.Imports) == 0 {
		return nil
	}
	return s
}

func gitStage(img *dappfile.Image, id ID) *Stage {
	if len(img.Git) == 0 {
		return nil
	}
	s := &Stage{ID: id, Kind: KindGit, Git: img.Git}
	for _, g := range img.Git {
		s.Ranges = append(s.Ranges, g.Loc)
	}
	return s
}

// mountPointsStage is listed when img has `mount:` directives.
func mountPointsStage(img *dappfile.Image) *Stage {
	if len(img.Mounts) == 0 {
		return nil
	}
	s := &Stage{ID: MountPoints, Kind: KindMountPoints}
	for _, m := range img.Mounts {
		s.Ranges = append(s.Ranges, m.Loc)
	}
	return s
}

// gitPatchStage is the patch point before user stage name. It is listed
// when a local mapping declares stageDependencies for that stage, even if
// the stage has no commands: later stages must still see the sources as of
// the stage's pin.
func gitPatchStage(img *dappfile.Image, name dappfile.StageName) *Stage {
	s := &Stage{ID: GitPatch, Kind: KindGit, User: name}
	for _, g := range img.Git {
		if g.URL == "" && len(g.StageDependencies[name]) > 0 {
			s.Git = append(s.Git, g)
			s.Ranges = append(s.Ranges, g.Loc)
		}
	}
	if len(s.Git) == 0 {
		return nil
	}
	return s
}
