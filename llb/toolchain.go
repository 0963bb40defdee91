package llb

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/flant/dapp-frontend/dappfile"
	bkllb "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"
)

// The toolchain (dapp's dappdeps) is an image built from toolchain/ in
// this repository: bash, coreutils, python3 and ansible relocated under
// ToolchainPrefix with their own loader and libraries. User-stage steps
// mount it read-only there, so shell and ansible stages work on any base
// image (another libc, no shell at all), and BuildKit removes the mount
// point afterwards: nothing of it reaches a layer.
const (
	ToolchainPrefix = "/.dapp/deps/toolchain"
	// DefaultToolchainImage is used when no toolchain-image option is given.
	// Build and push it with `make toolchain-image`; pin it with REF@DIGEST.
	DefaultToolchainImage = "docker.io/flant/dapp-frontend-toolchain:bookworm-1"
	// DefaultShellToolchainImage is the shell toolchain (toolchain/shell.sh)
	// of DefaultToolchainImage, used when neither toolchain option is given.
	DefaultShellToolchainImage = DefaultToolchainImage + "-shell"

	toolchainBash   = ToolchainPrefix + "/usr/bin/bash"
	toolchainPython = ToolchainPrefix + "/usr/bin/python3"
	toolchainBin    = ToolchainPrefix + "/usr/bin"
)

// toolchainRef is the image a stage mounts at ToolchainPrefix, the shell
// toolchain for a shell stage, the whole toolchain for ansible, and the
// option that names it (the options a default could be replaced with).
func (b *builder) toolchainRef(shell bool) (ref, option string) {
	switch {
	case shell && b.opt.ShellToolchainImage != "":
		return b.opt.ShellToolchainImage, "shell-toolchain-image"
	case b.opt.ToolchainImage != "":
		return b.opt.ToolchainImage, "toolchain-image"
	case shell:
		return DefaultShellToolchainImage, "shell-toolchain-image or toolchain-image"
	}
	return DefaultToolchainImage, "toolchain-image"
}

// toolchain is the toolchain image (shell: the shell toolchain, see
// toolchainRef) for the target platform, pinned to the digest the
// resolver returns (a reference with a digest is used as is), made once
// per build: its digest is part of the cache key of every step that
// mounts it.
func (b *builder) toolchain(ctx context.Context, sb *stageBuilder, shell bool) (bkllb.State, error) {
	p := sb.platform()
	ref, option := b.toolchainRef(shell)
	key := platforms.Format(p) + "\x00" + ref
	if st, ok := b.toolchains[key]; ok {
		return st, nil
	}
	what := "toolchain image"
	if shell {
		what = "shell toolchain image"
	}
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return bkllb.State{}, errors.Wrapf(err, "invalid %s %q (option %s)", what, ref, option)
	}
	pinned := named
	if _, ok := named.(reference.Digested); !ok {
		named = reference.TagNameOnly(named)
		_, dgst, cfgBytes, err := b.opt.ImageResolver.ResolveImageConfig(ctx, named.String(), sourceresolver.Opt{
			LogName:  "[dapp] load toolchain " + named.String(),
			ImageOpt: &sourceresolver.ResolveImageOpt{Platform: &p, ResolveMode: b.opt.ImageResolveMode},
		})
		if err != nil {
			return bkllb.State{}, errors.Wrapf(err, "failed to resolve the %s %q (build it with `make toolchain-image` "+
				"and name it with the %s option; shell stages can run the image's own /bin/sh with shell=image)", what, ref, option)
		}
		b.warnToolchainPlatform(sb, ref, p, cfgBytes)
		pinned = named
		if dgst != "" {
			if c, err := reference.WithDigest(named, dgst); err == nil {
				pinned = c
			}
		}
	}
	st := bkllb.Image(pinned.String(), bkllb.Platform(p), bkllb.WithCustomName("[dapp] toolchain "+pinned.String()))
	if b.toolchains == nil {
		b.toolchains = map[string]bkllb.State{}
	}
	b.toolchains[key] = st
	return st, nil
}

// warnToolchainPlatform says when the toolchain has no variant for the
// platform a stage runs on: a registry serves a single-platform image for
// any platform asked, and its bash then runs only where the builder runs
// that platform's binaries (natively or emulated), not on a native node
// of the target platform.
func (b *builder) warnToolchainPlatform(sb *stageBuilder, ref string, p ocispecs.Platform, cfgBytes []byte) {
	var img ocispecs.Image
	if json.Unmarshal(cfgBytes, &img) != nil || img.OS == "" || img.Architecture == "" {
		return
	}
	if img.OS == p.OS && img.Architecture == p.Architecture {
		return
	}
	b.warn([]dappfile.Warning{{Range: sb.img.NameLoc, Message: fmt.Sprintf(
		"toolchain image %s is for %s, not for %s: shell and ansible stages of this platform run its binaries, "+
			"which work only where %s binaries run; push the toolchain for %s too, or run shell stages with the image's /bin/sh (shell=image)",
		ref, platforms.Format(platforms.Normalize(img.Platform)), platforms.Format(p), platforms.Format(platforms.Normalize(img.Platform)), platforms.Format(p))}})
}

// toolchainMount mounts the toolchain (shell: the shell toolchain)
// read-only at its prefix.
func (sb *stageBuilder) toolchainMount(ctx context.Context, shell bool) (bkllb.RunOption, error) {
	st, err := sb.b.toolchain(ctx, sb, shell)
	if err != nil {
		return nil, err
	}
	return bkllb.AddMount(ToolchainPrefix, st, bkllb.SourcePath(ToolchainPrefix), bkllb.Readonly), nil
}

// userShell is how a shell stage's script runs: with the toolchain's bash
// (dapp ran its own bash, and Dappfiles rely on bash syntax even where
// /bin/sh is dash or busybox), or with the image's /bin/sh when the shell
// option says so.
func (sb *stageBuilder) userShell(ctx context.Context) ([]string, []bkllb.RunOption, error) {
	if sb.b.opt.ImageShell {
		return []string{"/bin/sh", "-ec"}, nil, nil
	}
	m, err := sb.toolchainMount(ctx, true)
	if err != nil {
		return nil, nil, err
	}
	return []string{toolchainBash, "-ec"}, []bkllb.RunOption{m}, nil
}
