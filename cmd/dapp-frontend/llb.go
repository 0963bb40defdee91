package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
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
// mappings, mounts, submodules), goes to warnOut.
func dumpLLB(args []string, out, warnOut io.Writer) error {
	fl := flag.NewFlagSet("llb", flag.ContinueOnError)
	file := fl.String("f", "", "the Dappfile (default: Dappfile, dappfile.yaml or dappfile.yml in --context)")
	dir := fl.String("context", ".", "the build context directory")
	target := fl.String("target", "", "image or artifact to convert")
	dev := fl.Bool("dev", false, "take local git mappings from the working tree, not the committed state")
	toolchain := fl.String("toolchain-image", "", "the toolchain image mounted into user stages (default "+dappllb.DefaultToolchainImage+")")
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
		userStageOpt{toolchainImage: *toolchain, imageShell: *shell == "image"})
	if err != nil {
		return err
	}
	return writeOps(out, def)
}

// userStageOpt is how user stages run: the toolchain image and the shell.
type userStageOpt struct {
	toolchainImage string
	imageShell     bool
}

// convertLocal parses, converts and marshals a Dappfile from a local
// directory: the whole offline path of dumpLLB but the printing, which the
// conversion benchmark measures as it is.
func convertLocal(ctx context.Context, file, dir, target string, dev bool, buildArgs map[string]string, warnOut io.Writer, us userStageOpt) (*bkllb.Definition, error) {
	cfg, err := parseLocal(file, dir, buildArgs, warnOut)
	if err != nil {
		return nil, err
	}
	res, err := dappllb.Convert(ctx, cfg, dappllb.ConvertOpt{
		Target:         target,
		ImageResolver:  emptyResolver{},
		ToolchainImage: us.toolchainImage,
		ImageShell:     us.imageShell,
		BuildContext: func(include, exclude []string) (bkllb.State, error) {
			return bkllb.Local("context", bkllb.IncludePatterns(include), bkllb.ExcludePatterns(exclude)), nil
		},
		Git: dappllb.GitOpt{
			Repo: func(context.Context) (*gitsource.Repo, error) { return gitsource.OpenDir(dir) },
			Dev:  dev,
		},
		Warn: func(w dappfile.Warning) { printWarning(warnOut, w) },
		ConvertDockerfile: frontend.LocalDockerfiles(func(name string) ([]byte, error) {
			return os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		}, emptyResolver{}),
	})
	if err != nil {
		return nil, err
	}
	return res.State.Marshal(ctx)
}

func parseLocal(file, dir string, buildArgs map[string]string, warnOut io.Writer) (*dappfile.Config, error) {
	if file == "" {
		var found []string
		for _, n := range []string{"Dappfile", "dappfile.yaml", "dappfile.yml", "werf.yaml", "werf.yml"} {
			if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
				found = append(found, filepath.Join(dir, n))
			}
		}
		if len(found) > 1 && filepath.Base(found[0]) == "Dappfile" {
			// a Ruby DSL Dappfile beside a YAML one: the YAML one, as
			// dapp 0.27 and later (and the frontend) read it
			if dt, err := os.ReadFile(found[0]); err == nil && dappfile.LooksLikeRubyDSL(dt) {
				found = found[1:]
			}
		}
		if len(found) > 0 {
			file = found[0]
		}
		if file == "" {
			return nil, fmt.Errorf("no Dappfile or werf.yaml in %s; name one with -f", dir)
		}
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	templates, err := localTemplates(filepath.Join(dir, ".dappfiles"))
	if err != nil {
		return nil, err
	}
	werfTemplates, err := localTemplates(filepath.Join(dir, ".werf"))
	if err != nil {
		return nil, err
	}
	paths := map[string]string{}
	for name, dt := range werfTemplates {
		if _, dup := templates[name]; dup {
			return nil, fmt.Errorf("template %q is both .dappfiles/%s and .werf/%s: rename one", name, name, name)
		}
		templates[name], paths[name] = dt, ".werf/"+name
	}
	cfg, warnings, err := dappfile.Parse(data, dappfile.ParseOpt{
		Filename:      filepath.Base(file),
		BuildArgs:     buildArgs,
		Templates:     templates,
		TemplatePaths: paths,
		Commit:        func() (dappfile.Commit, error) { return localCommit(dir) },
		ReadFile:      func(p string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, filepath.FromSlash(p))) },
	})
	for _, w := range warnings {
		printWarning(warnOut, w)
	}
	return cfg, err
}

// printWarning writes "warning: file:line: message", or without the line
// when the warning has none.
func printWarning(w io.Writer, warn dappfile.Warning) {
	if warn.Range.Start.Line > 0 {
		fmt.Fprintf(w, "warning: %s:%d: %s\n", warn.Filename, warn.Range.Start.Line, warn.Message)
		return
	}
	fmt.Fprintf(w, "warning: %s: %s\n", warn.Filename, warn.Message)
}

func localTemplates(root string) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".tmpl") {
			return err
		}
		dt, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out[filepath.ToSlash(rel)] = dt
		return nil
	})
	if os.IsNotExist(err) {
		return out, nil
	}
	return out, err
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
	repo, err := gitsource.OpenDir(dir)
	if err != nil {
		return dappfile.Commit{}, err
	}
	h, t, err := repo.HeadCommit()
	return dappfile.Commit{Hash: h, Time: t}, err
}
