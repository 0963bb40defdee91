// Package stages turns one image or artifact of a Dappfile into dapp's
// ordered stage list: which stages exist, in which order, and what feeds each
// of them (commands, cacheVersions, imports, git mappings). It builds no LLB:
// the llb package walks the list and emits one vertex per non-empty stage.
package stages

import (
	"github.com/flant/dapp-frontend/dappfile"
)

// ID names a stage the way dapp does; it also appears in progress output.
type ID string

// The stages of an image, in build order. Artifacts stop after
// ImportsAfterSetup and add BuildArtifact.
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
	DockerInstructions  ID = "dockerInstructions"
)

// Kind says how a stage is built.
type Kind int

const (
	// KindFrom is the base: an image reference or another image's result.
	KindFrom Kind = iota
	// KindUser runs the commands of a shell section.
	KindUser
	// KindImports copies files out of artifacts.
	KindImports
	// KindGit puts git sources into the image.
	KindGit
	// KindDocker sets the image config; it adds no layer.
	KindDocker
)

// Stage is one step of the chain with everything that feeds it.
type Stage struct {
	ID   ID
	Kind Kind
	// User is the user stage behind a KindUser stage.
	User dappfile.StageName
	// Commands run in order in one build step (KindUser).
	Commands []string
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

// Chain returns the stages of img in build order. Stages with nothing to do
// are left out, except the git stages: whether a gitCache or gitLatestPatch
// layer is needed depends on the repository history, which only the git
// code knows, so they are listed whenever the image has git mappings.
func Chain(img *dappfile.Image) []Stage {
	chain := []Stage{fromStage(img)}
	add := func(s *Stage) {
		if s != nil {
			chain = append(chain, *s)
		}
	}
	add(userStage(img, BeforeInstall, dappfile.BeforeInstall))
	add(importStage(img, ImportsBeforeInstall, true, dappfile.Install))
	add(gitStage(img, GitArchive))
	add(gitPatchStage(img, dappfile.Install))
	add(userStage(img, Install, dappfile.Install))
	add(importStage(img, ImportsAfterInstall, false, dappfile.Install))
	add(gitPatchStage(img, dappfile.BeforeSetup))
	add(userStage(img, BeforeSetup, dappfile.BeforeSetup))
	add(importStage(img, ImportsBeforeSetup, true, dappfile.Setup))
	add(gitPatchStage(img, dappfile.Setup))
	add(userStage(img, Setup, dappfile.Setup))
	add(importStage(img, ImportsAfterSetup, false, dappfile.Setup))
	if img.Kind == dappfile.KindArtifact {
		add(gitPatchStage(img, dappfile.BuildArtifact))
		add(userStage(img, BuildArtifact, dappfile.BuildArtifact))
		return chain
	}
	if !img.DisableGitAfterPatch {
		add(gitStage(img, GitCache))
		add(gitStage(img, GitLatestPatch))
	}
	if img.Docker != nil {
		chain = append(chain, Stage{ID: DockerInstructions, Kind: KindDocker, Ranges: []dappfile.Range{img.Docker.Loc}})
	}
	return chain
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
