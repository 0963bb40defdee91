package llb

import (
	"context"

	"github.com/flant/dapp-frontend/dappfile"
	"github.com/flant/dapp-frontend/stages"
	bkllb "github.com/moby/buildkit/client/llb"
)

// ConvertEarly converts the parts of the target's graph that need no git
// repository, for a frontend to solve while it still reads the context's
// .git and plans the git stages: each base that needs no git, whole
// (GitFreeBases), and each other image's steps before its first stage
// that needs git (its `from:` and what runs before gitArchive, such as
// beforeInstall's packages). Every part is a vertex of the target's own
// graph, converted with the same options, so BuildKit runs it once
// (TestConvertEarlyPartsAreTheTargetsVertices). It is empty when the
// target needs no git: its conversion then waits for nothing. A part
// that fails to convert is left out; the target's conversion reports
// the error.
func ConvertEarly(ctx context.Context, cfg *dappfile.Config, opt ConvertOpt) []*Result {
	target, err := SelectTarget(cfg, opt.Target)
	if err != nil || gitFree(cfg, target) {
		return nil
	}
	var out []*Result
	for _, img := range GitFreeBases(cfg, opt.Target) {
		b := newBuilder(cfg, opt)
		built, err := b.build(ctx, img)
		if err != nil {
			continue
		}
		out = append(out, &Result{State: built.state, Target: img, CacheMounts: b.caches.sorted()})
	}
	for _, img := range BuildsOn(cfg, target) {
		if gitFree(cfg, img) || img.Dockerfile != nil {
			continue
		}
		b := newBuilder(cfg, opt)
		st, steps, err := b.buildBeforeGit(ctx, img)
		if err != nil || !steps {
			continue
		}
		out = append(out, &Result{State: st, Target: img, CacheMounts: b.caches.sorted()})
	}
	return out
}

// buildBeforeGit applies img's stages up to the first that needs git: a
// git stage, an import (its artifact may need git), or a base image that
// needs git. steps reports whether it applied a user stage: a chain of
// its `from:` alone has nothing to run early.
func (b *builder) buildBeforeGit(ctx context.Context, img *dappfile.Image) (st bkllb.State, steps bool, err error) {
	sb := &stageBuilder{b: b, img: img}
	for _, s := range stages.Chain(img) {
		if b.needsGit(img, s) {
			break
		}
		if err := sb.apply(ctx, s); err != nil {
			return bkllb.State{}, false, err
		}
		steps = steps || s.Kind == stages.KindUser
	}
	return sb.state, steps, nil
}

// needsGit reports whether stage s of img needs a git repository to
// convert.
func (b *builder) needsGit(img *dappfile.Image, s stages.Stage) bool {
	switch s.Kind {
	case stages.KindGit, stages.KindImports:
		return true
	case stages.KindFrom:
		for _, name := range []string{img.FromDimg, img.FromDimgArtifact} {
			if name == "" {
				continue
			}
			base, err := b.lookup(name)
			if err != nil || !gitFree(b.cfg, base) {
				return true
			}
		}
	}
	return false
}

// GitFreeBases lists the images and artifacts the target builds on that
// convert without any git repository: none of them, and nothing they build
// on, maps git or is a werf `dockerfile:` image. It is empty when the
// target itself needs no git, as its conversion then waits for nothing.
// Their LLB is the same as a base of the target's as on its own, so the
// frontend converts and solves them as soon as the Dappfile is read,
// beside the reading of .git: after a cold start the steps of a base image
// (its packages) need not wait for the plan of the target's git stages.
// Of two such images one builds on, only the one built on top is listed.
func GitFreeBases(cfg *dappfile.Config, target string) []*dappfile.Image {
	img, err := SelectTarget(cfg, target)
	if err != nil || gitFree(cfg, img) {
		return nil
	}
	var free []*dappfile.Image
	for _, im := range BuildsOn(cfg, img)[1:] {
		if im.Name != "" && gitFree(cfg, im) {
			free = append(free, im)
		}
	}
	below := map[*dappfile.Image]bool{}
	for _, im := range free {
		for _, dep := range BuildsOn(cfg, im)[1:] {
			below[dep] = true
		}
	}
	var out []*dappfile.Image
	for _, im := range free {
		if !below[im] {
			out = append(out, im)
		}
	}
	return out
}

// gitFree reports whether img and what it builds on convert without git.
func gitFree(cfg *dappfile.Config, img *dappfile.Image) bool {
	for _, im := range BuildsOn(cfg, img) {
		if len(im.Git) > 0 || im.Dockerfile != nil {
			return false
		}
	}
	return true
}
