package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/containerd/platforms"
	"github.com/flant/dapp-frontend/dappfile"
	"github.com/flant/dapp-frontend/frontend"
	"github.com/flant/dapp-frontend/gitsource"
	dappllb "github.com/flant/dapp-frontend/llb"
	bkllb "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
	"google.golang.org/protobuf/encoding/protojson"
)

// dumpLLB converts a Dappfile offline and prints one JSON object per op,
// like `buildctl debug dump-llb`. Base images are not resolved: they get an
// empty config. Every warning, of the Dappfile and of the conversion (git
// mappings, mounts, submodules), goes to warnOut. It reads the context
// through dappfile.DirFS and gitsource.OpenContext: what the frontend
// would read through BuildKit, never a file outside the context.
func dumpLLB(args []string, out, warnOut io.Writer) error {
	fl := flag.NewFlagSet("llb", flag.ContinueOnError)
	file := fl.String("f", "", "the Dappfile (default: Dappfile, dappfile.yaml or dappfile.yml in --context)")
	dir := fl.String("context", ".", "the build context directory")
	target := fl.String("target", "", "image or artifact to convert")
	dev := fl.Bool("dev", false, "take local git mappings from the working tree, not the committed state")
	toolchain := fl.String("toolchain-image", "", "the toolchain image mounted into user stages (default "+dappllb.DefaultToolchainImage+")")
	shellToolchain := fl.String("shell-toolchain-image", "", "the image whose bash shell stages run (default: -toolchain-image when given, else "+dappllb.DefaultShellToolchainImage+")")
	shell := fl.String("shell", "toolchain", "what runs shell stages: toolchain (its bash) or image (the image's /bin/sh)")
	var buildArgs multiFlag
	fl.Var(&buildArgs, "build-arg", "NAME=VALUE for the template's env (repeatable)")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *shell != "toolchain" && *shell != "image" {
		return fmt.Errorf("-shell: %q is neither toolchain nor image", *shell)
	}
	def, err := convertLocal(context.Background(), *file, *dir, *target, *dev, buildArgs.values(), warnOut,
		userStageOpt{toolchainImage: *toolchain, shellToolchainImage: *shellToolchain, imageShell: *shell == "image"})
	if err != nil {
		return err
	}
	return writeOps(out, def)
}

// userStageOpt is how user stages run: the toolchain image and the shell.
type userStageOpt struct {
	toolchainImage      string
	shellToolchainImage string
	imageShell          bool
}

// convertLocal reads, converts and marshals a Dappfile from a local
// directory: the whole offline path of dumpLLB but the printing, which the
// conversion benchmark measures as it is. Errors leave here, so the
// Dappfile is named in their locations.
func convertLocal(ctx context.Context, file, dir, target string, dev bool, buildArgs map[string]string, warnOut io.Writer, us userStageOpt) (*bkllb.Definition, error) {
	name, data, err := readLocal(file, dir)
	if err != nil {
		return nil, err
	}
	def, err := convertData(ctx, name, data, dir, target, dev, buildArgs, warnOut, us)
	return def, dappfile.WithFilename(err, name)
}

func convertData(ctx context.Context, name string, data []byte, dir, target string, dev bool, buildArgs map[string]string, warnOut io.Writer, us userStageOpt) (*bkllb.Definition, error) {
	cfg, err := loadLocal(name, data, dir, buildArgs, warnOut)
	if err != nil {
		return nil, err
	}
	res, err := dappllb.Convert(ctx, cfg, dappllb.ConvertOpt{
		Target:              target,
		ImageResolver:       emptyResolver{},
		ToolchainImage:      us.toolchainImage,
		ShellToolchainImage: us.shellToolchainImage,
		ImageShell:          us.imageShell,
		BuildContext: func(include, exclude []string) (bkllb.State, error) {
			return bkllb.Local("context", bkllb.IncludePatterns(include), bkllb.ExcludePatterns(exclude)), nil
		},
		Git: dappllb.GitOpt{
			Repo: func(context.Context) (*gitsource.Repo, error) { return gitsource.OpenContext(dir) },
			Dev:  dev,
		},
		Warn:              func(w dappfile.Warning) { printWarning(warnOut, name, w) },
		ConvertDockerfile: frontend.LocalDockerfiles(dappfile.DirFS(dir).ReadFile, emptyResolver{}),
	})
	if err != nil {
		return nil, err
	}
	return res.State.Marshal(ctx)
}

// parseLocal reads and loads a Dappfile as the llb command does, with the
// file named in errors.
func parseLocal(file, dir string, buildArgs map[string]string, warnOut io.Writer) (*dappfile.Config, error) {
	name, data, err := readLocal(file, dir)
	if err != nil {
		return nil, err
	}
	cfg, err := loadLocal(name, data, dir, buildArgs, warnOut)
	return cfg, dappfile.WithFilename(err, name)
}

// loadLocal is dappfile.Load over the context directory, with the
// repository of the context for werf's `.Commit`.
func loadLocal(name string, data []byte, dir string, buildArgs map[string]string, warnOut io.Writer) (*dappfile.Config, error) {
	cfg, warnings, err := dappfile.Load(data, dappfile.LoadOpt{
		Werf:      dappfile.IsWerfFile(name),
		BuildArgs: buildArgs,
		Context:   dappfile.DirFS(dir),
		Commit:    func() (dappfile.Commit, error) { return localCommit(dir) },
	})
	for _, w := range warnings {
		printWarning(warnOut, name, w)
	}
	return cfg, err
}

// readLocal returns the Dappfile's name and content: -f, or the first
// default name in the context. -f may name a file outside the context, as
// buildctl's dockerfile local may be another directory.
func readLocal(file, dir string) (string, []byte, error) {
	if file != "" {
		data, err := os.ReadFile(file)
		return filepath.Base(file), data, err
	}
	ctxFS := dappfile.DirFS(dir)
	name, err := dappfile.FindFile(ctxFS)
	if err != nil {
		return "", nil, fmt.Errorf("%w in %s; name one with -f", err, dir)
	}
	data, err := ctxFS.ReadFile(name)
	return name, data, err
}

// printWarning writes "warning: file:line: message", or without the line
// when the warning has none.
func printWarning(w io.Writer, filename string, warn dappfile.Warning) {
	if warn.Range.Start.Line > 0 {
		fmt.Fprintf(w, "warning: %s:%d: %s\n", filename, warn.Range.Start.Line, warn.Message)
		return
	}
	fmt.Fprintf(w, "warning: %s: %s\n", filename, warn.Message)
}

type dumpedOp struct {
	Op         json.RawMessage
	Digest     digest.Digest
	OpMetadata json.RawMessage `json:",omitempty"`
}

func writeOps(out io.Writer, def *bkllb.Definition) error {
	enc := json.NewEncoder(out)
	for _, dt := range def.Def {
		var op pb.Op
		if err := op.UnmarshalVT(dt); err != nil {
			return err
		}
		dgst := digest.FromBytes(dt)
		opJSON, err := protojson.Marshal(&op)
		if err != nil {
			return err
		}
		d := dumpedOp{Op: opJSON, Digest: dgst}
		if md, ok := def.Metadata[dgst]; ok {
			if d.OpMetadata, err = json.Marshal(md); err != nil {
				return err
			}
		}
		if err := enc.Encode(d); err != nil {
			return err
		}
	}
	return nil
}

// emptyResolver stands in for a registry: every image has an empty config
// for the default platform.
type emptyResolver struct{}

func (emptyResolver) ResolveImageConfig(ctx context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	p := platforms.DefaultSpec()
	if opt.ImageOpt != nil && opt.ImageOpt.Platform != nil {
		p = *opt.ImageOpt.Platform
	}
	dt, err := json.Marshal(map[string]any{"os": p.OS, "architecture": p.Architecture, "rootfs": map[string]any{"type": "layers"}, "config": map[string]any{}})
	return ref, "", dt, err
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func (m multiFlag) values() map[string]string {
	out := map[string]string{}
	for _, kv := range m {
		k, v, _ := strings.Cut(kv, "=")
		out[k] = v
	}
	return out
}

// localCommit is HEAD of the repository at dir, for werf's `.Commit`.
func localCommit(dir string) (dappfile.Commit, error) {
	repo, err := gitsource.OpenContext(dir)
	if err != nil {
		return dappfile.Commit{}, err
	}
	h, t, err := repo.HeadCommit()
	return dappfile.Commit{Hash: h, Time: t}, err
}
