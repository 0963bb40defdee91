package frontend

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	bkllb "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	gwpb "github.com/moby/buildkit/frontend/gateway/pb"
	"github.com/moby/buildkit/frontend/subrequests/outline"
	"github.com/moby/buildkit/frontend/subrequests/targets"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/buildkit/solver/pb"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	digest "github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/require"
	fstypes "github.com/tonistiigi/fsutil/types"
)

// stubClient is a gateway client without a daemon: every local source
// reads from one in-memory tree, and the final solve is recorded.
type stubClient struct {
	files fstest.MapFS
	opts  map[string]string
	// mu guards solved and warned: the frontend solves the .git prefetch
	// and warns from goroutines beside the conversion
	mu     sync.Mutex
	solved []*pb.Definition
	warned []string
	// readAheads counts the solves of the read-ahead of .git, left out
	// of solved
	readAheads int
	// dotGits counts the solves of .git alone, left out of solved too
	dotGits int
	// resolved are the references ResolveImageConfig was asked for
	resolved []string
	// seen are the definitions solved so far: as BuildKit runs a vertex
	// once per build, a definition solved again is recorded once, where
	// it was first solved
	seen map[digest.Digest]bool
}

var _ gwclient.Client = (*stubClient)(nil)

func (c *stubClient) Solve(ctx context.Context, req gwclient.SolveRequest) (*gwclient.Result, error) {
	c.mu.Lock()
	key := digest.FromBytes(bytes.Join(req.Definition.Def, []byte{0}))
	if c.seen[key] {
		// already solved: the same result, nothing recorded
	} else if isReadAhead(req.Definition) {
		// the read-ahead of .git inside the build, and the transfer of
		// .git, may run before the build's own solves or after (they
		// start speculatively): tests count those
		c.readAheads++
	} else if isDotGit(req.Definition) {
		c.dotGits++
	} else {
		c.solved = append(c.solved, req.Definition)
	}
	if c.seen == nil {
		c.seen = map[digest.Digest]bool{}
	}
	c.seen[key] = true
	c.mu.Unlock()
	res := gwclient.NewResult()
	res.SetRef(&stubRef{files: c.files})
	return res, nil
}

// isDotGit reports whether def is the transfer of .git alone (dotGit).
func isDotGit(def *pb.Definition) bool {
	sources := 0
	dotgit := false
	for _, dt := range def.Def {
		var op pb.Op
		if op.UnmarshalVT(dt) != nil {
			return false
		}
		if src := op.GetSource(); src != nil {
			sources++
			dotgit = strings.HasPrefix(src.Attrs[pb.AttrIncludePatterns], `[".git",`)
		} else if len(op.Inputs) != 1 {
			return false
		}
	}
	return sources == 1 && dotgit
}

// isReadAhead reports whether def runs the read-ahead of .git
// (readAheadState).
func isReadAhead(def *pb.Definition) bool {
	for _, dt := range def.Def {
		var op pb.Op
		if op.UnmarshalVT(dt) == nil && op.GetExec() != nil && slices.Contains(op.GetExec().Meta.Args, ReadAheadCommand) {
			return true
		}
	}
	return false
}

func (c *stubClient) ResolveImageConfig(ctx context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	c.mu.Lock()
	c.resolved = append(c.resolved, ref)
	c.mu.Unlock()
	arch := "amd64"
	if opt.ImageOpt != nil && opt.ImageOpt.Platform != nil {
		arch = opt.ImageOpt.Platform.Architecture
	}
	dt, err := json.Marshal(map[string]any{"os": "linux", "architecture": arch, "config": map[string]any{"Env": []string{"PATH=/bin"}}})
	return ref, digest.FromString(ref), dt, err
}

func (c *stubClient) ResolveSourceMetadata(ctx context.Context, op *pb.SourceOp, opt sourceresolver.Opt) (*sourceresolver.MetaResponse, error) {
	return &sourceresolver.MetaResponse{Op: op}, nil
}

func (c *stubClient) BuildOpts() gwclient.BuildOpts {
	return gwclient.BuildOpts{Opts: c.opts, SessionID: "stub", LLBCaps: pb.Caps.CapSet(pb.Caps.All()), Caps: gwpb.Caps.CapSet(nil)}
}

func (c *stubClient) Inputs(ctx context.Context) (map[string]bkllb.State, error) { return nil, nil }

func (c *stubClient) NewContainer(ctx context.Context, req gwclient.NewContainerRequest) (gwclient.Container, error) {
	return nil, os.ErrInvalid
}

func (c *stubClient) Warn(ctx context.Context, dgst digest.Digest, msg string, opts gwclient.WarnOpts) error {
	c.mu.Lock()
	c.warned = append(c.warned, msg)
	c.mu.Unlock()
	return nil
}

type stubRef struct{ files fstest.MapFS }

func (r *stubRef) ToState() (bkllb.State, error)      { return bkllb.Scratch(), nil }
func (r *stubRef) Evaluate(ctx context.Context) error { return nil }

func (r *stubRef) ReadFile(ctx context.Context, req gwclient.ReadRequest) ([]byte, error) {
	dt, err := fs.ReadFile(r.files, path.Clean(req.Filename))
	if err != nil || req.Range == nil {
		return dt, err
	}
	// the gateway's range: from Offset, at most Length bytes
	dt = dt[min(req.Range.Offset, len(dt)):]
	return dt[:min(req.Range.Length, len(dt))], nil
}

func (r *stubRef) StatFile(ctx context.Context, req gwclient.StatRequest) (*fstypes.Stat, error) {
	fi, err := fs.Stat(r.files, path.Clean(req.Path))
	if err != nil {
		return nil, err
	}
	return &fstypes.Stat{Path: fi.Name(), Mode: uint32(fi.Mode()), Size: fi.Size()}, nil
}

func (r *stubRef) ReadDir(ctx context.Context, req gwclient.ReadDirRequest) ([]*fstypes.Stat, error) {
	entries, err := fs.ReadDir(r.files, path.Clean(req.Path))
	if err != nil {
		return nil, err
	}
	var out []*fstypes.Stat
	for _, e := range entries {
		fi, _ := e.Info()
		out = append(out, &fstypes.Stat{Path: e.Name(), Mode: uint32(fi.Mode()), Size: fi.Size()})
	}
	return out, nil
}

func newStub(files map[string]string, opts map[string]string) *stubClient {
	m := fstest.MapFS{}
	for p, content := range files {
		m[p] = &fstest.MapFile{Data: []byte(content), Mode: 0o644}
	}
	if opts == nil {
		opts = map[string]string{}
	}
	return &stubClient{files: m, opts: opts}
}

const twoImages = `dimg: web
from: alpine
shell:
  install: [apt-get install -y nginx]
mount:
- from: build_dir
  to: /cache
docker:
  CMD: [nginx]
---
dimg: worker
from: alpine
shell:
  setup: [echo {{ env "GREETING" }}]
`

func TestBuildDefaultFilenameAndImageConfig(t *testing.T) {
	t.Parallel()
	c := newStub(map[string]string{"dappfile.yml": "dimg: app\nfrom: alpine\nshell:\n  install: [make]\ndocker:\n  CMD: [run]\n"}, nil)
	res, err := Build(context.Background(), c)
	require.NoError(t, err)
	var img dockerspec.DockerOCIImage
	require.NoError(t, json.Unmarshal(res.Metadata[exptypes.ExporterImageConfigKey], &img))
	require.Equal(t, []string{"run"}, img.Config.Cmd)
	last := c.solved[len(c.solved)-1]
	var found bool
	for _, dt := range last.Def {
		var op pb.Op
		require.NoError(t, op.UnmarshalVT(dt))
		if e := op.GetExec(); e != nil {
			found = true
			require.Equal(t, []string{"/.dapp/deps/toolchain/usr/bin/bash", "-ec", "make"}, e.Meta.Args)
		}
	}
	require.True(t, found, "the build solved the install step")
}

// TestBuildRubyDappfileBesideYAML: with no file named, an old Ruby DSL
// Dappfile kept beside the YAML one is passed over, as dapp 0.27 did; alone
// it is read and refused with what to do.
func TestBuildRubyDappfileBesideYAML(t *testing.T) {
	t.Parallel()
	ruby := "dimg_group do\n  dimg 'app' do\n    docker.from 'alpine'\n  end\nend\n"
	c := newStub(map[string]string{"Dappfile": ruby, "dappfile.yml": "dimg: app\nfrom: alpine\ndocker:\n  CMD: [run]\n"}, nil)
	res, err := Build(context.Background(), c)
	require.NoError(t, err)
	var img dockerspec.DockerOCIImage
	require.NoError(t, json.Unmarshal(res.Metadata[exptypes.ExporterImageConfigKey], &img))
	require.Equal(t, []string{"run"}, img.Config.Cmd)

	_, err = Build(context.Background(), newStub(map[string]string{"Dappfile": ruby}, nil))
	require.ErrorContains(t, err, "Dappfile:1:1: this Dappfile is written in dapp's Ruby DSL")
}

func TestBuildNoDappfile(t *testing.T) {
	t.Parallel()
	_, err := Build(context.Background(), newStub(map[string]string{"Dockerfile": "FROM x"}, nil))
	require.ErrorContains(t, err, "no Dappfile or werf.yaml found: looked for Dappfile, dappfile.yaml, dappfile.yml, werf.yaml, werf.yml")
}

func TestBuildErrorCarriesSource(t *testing.T) {
	t.Parallel()
	c := newStub(map[string]string{"Dappfile": "dimg: app\nfrom: alpine\ndoker:\n  CMD: [x]\n"}, nil)
	_, err := Build(context.Background(), c)
	require.ErrorContains(t, err, `Dappfile:3:1: unknown key "doker" (did you mean "docker"?)`)
	srcs := errdefs.Sources(err)
	require.Len(t, srcs, 1)
	require.Equal(t, "Dappfile", srcs[0].Info.Filename)
	require.Equal(t, int32(3), srcs[0].Ranges[0].Start.Line)
}

// TestBuildErrorsNameTheFile: the file name is attached where errors
// leave, whatever the file is called, and only Dappfile lines become
// source ranges.
func TestBuildErrorsNameTheFile(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		files map[string]string
		err   string
		lines []int32 // source ranges' start lines; nil: no source attached
	}{
		{name: "default name", files: map[string]string{"dappfile.yml": "dimg: a\nfrom: alpine\nshel: {}\n"}, err: `dappfile.yml:3:1: unknown key "shel"`, lines: []int32{3}},
		{name: "whole file", files: map[string]string{"Dappfile": "dimg: a\nfrom: x\n---\ndimg: b\nfrom: x\n"}, err: "Dappfile: defines 2 images (a, b)"},
		{name: "files get outside", files: map[string]string{"Dappfile": "dimg: a\nfrom: x{{ .Files.Get \"/etc/passwd\" }}\n"}, err: `Dappfile:2:`, lines: []int32{2}},
		{name: "template file", files: map[string]string{"Dappfile": "dimg: a\nfrom: x{{ \"\" }}\n", ".dappfiles/t.tmpl": "{{ end }}"}, err: ".dappfiles/t.tmpl:1:1: template: unexpected {{end}}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Build(context.Background(), newStub(tc.files, nil))
			require.ErrorContains(t, err, tc.err)
			var lines []int32
			for _, src := range errdefs.Sources(err) {
				for _, r := range src.Ranges {
					lines = append(lines, r.Start.Line)
				}
			}
			require.Equal(t, tc.lines, lines)
		})
	}
}

func TestBuildSeveralImagesNeedTarget(t *testing.T) {
	t.Parallel()
	_, err := Build(context.Background(), newStub(map[string]string{"Dappfile": twoImages}, nil))
	require.ErrorContains(t, err, "defines 2 images (web, worker): pick one with --target NAME")
}

func TestSubrequestTargets(t *testing.T) {
	t.Parallel()
	c := newStub(map[string]string{"Dappfile": twoImages}, map[string]string{"requestid": targets.SubrequestsTargetsDefinition.Name})
	res, err := Build(context.Background(), c)
	require.NoError(t, err)
	var l targets.List
	require.NoError(t, json.Unmarshal(res.Metadata["result.json"], &l))
	var names []string
	for _, tg := range l.Targets {
		names = append(names, tg.Name)
		require.NotNil(t, tg.Location, "target %s has a location", tg.Name)
	}
	sort.Strings(names)
	require.Equal(t, []string{"web", "worker"}, names)
	require.Equal(t, int32(1), l.Targets[0].Location.Ranges[0].Start.Line)
	require.Equal(t, int32(11), l.Targets[1].Location.Ranges[0].Start.Line)
}

func TestSubrequestOutline(t *testing.T) {
	t.Parallel()
	c := newStub(map[string]string{"Dappfile": twoImages}, map[string]string{
		"requestid": outline.SubrequestsOutlineDefinition.Name, "target": "web", "project": "shop", "build-arg:GREETING": "hi",
	})
	res, err := Build(context.Background(), c)
	require.NoError(t, err)
	var o outline.Outline
	require.NoError(t, json.Unmarshal(res.Metadata["result.json"], &o))
	require.Equal(t, "web", o.Name)
	var ids []string
	for _, m := range o.Cache {
		ids = append(ids, m.ID)
	}
	joined := strings.Join(ids, "\n")
	require.Contains(t, joined, "/var/cache/apt")
	require.Contains(t, joined, "/cache")
	require.Contains(t, joined, "shop")
	require.Equal(t, []outline.Arg{{Name: "GREETING", Value: "hi", Description: "read by the template with env"}}, o.Args)
}

func TestBadOption(t *testing.T) {
	t.Parallel()
	_, err := Build(context.Background(), newStub(map[string]string{"Dappfile": "dimg: a\nfrom: alpine\n"}, map[string]string{"auto-cache": "maybe"}))
	require.ErrorContains(t, err, `option auto-cache: "maybe" is not a boolean`)
}

func TestBuildPerPlatform(t *testing.T) {
	t.Parallel()
	c := newStub(map[string]string{"Dappfile": "dimg: app\nfrom: alpine\nshell:\n  install: [make]\n"}, map[string]string{"platform": "linux/amd64,linux/arm64"})
	res, err := Build(context.Background(), c)
	require.NoError(t, err)
	require.Len(t, res.Refs, 2, "one result per platform")
	require.Contains(t, res.Refs, "linux/arm64")
	var img dockerspec.DockerOCIImage
	require.NoError(t, json.Unmarshal(res.Metadata[exptypes.ExporterImageConfigKey+"/linux/arm64"], &img))
	require.Equal(t, "arm64", img.Architecture)
}

// TestBuildWerfYAML: werf.yaml is found when there is no Dappfile (a
// Dappfile still wins), its `.werf` templates are read, and a
// `dockerfile:` image is converted from the Dockerfile in its context.
func TestBuildWerfYAML(t *testing.T) {
	t.Parallel()
	werf := "project: shop\nconfigVersion: 1\n---\n{{ include \"web.tmpl\" . }}\n---\nimage: app\nfrom: alpine\n"
	files := map[string]string{
		"werf.yaml":          werf,
		".werf/web.tmpl":     "image: web\ndockerfile: Dockerfile\ncontext: web\ntarget: prod",
		"web/Dockerfile":     "FROM alpine AS base\nRUN echo base\nFROM base AS prod\nRUN echo prod\n",
		"web/.dockerignore":  "",
		"unrelated/Dappfile": "not read",
	}
	c := newStub(files, map[string]string{"target": "web"})
	_, err := Build(context.Background(), c)
	require.NoError(t, err)
	var runs []string
	for _, dt := range c.solved[len(c.solved)-1].Def {
		var op pb.Op
		require.NoError(t, op.UnmarshalVT(dt))
		if e := op.GetExec(); e != nil {
			runs = append(runs, strings.Join(e.Meta.Args, " "))
		}
	}
	require.Equal(t, []string{"/bin/sh -c echo base", "/bin/sh -c echo prod"}, runs)

	files["Dappfile"] = "dimg: d\nfrom: alpine\nshell:\n  install: [echo dappfile]\n"
	c = newStub(files, nil)
	_, err = Build(context.Background(), c)
	require.NoError(t, err)
	require.Contains(t, string(bytes.Join(c.solved[len(c.solved)-1].Def, nil)), "echo dappfile")
}

// TestSubrequestOutlineDockerfileImage: `--call outline` of a
// `dockerfile:` image is its Dockerfile's outline, the werf.yaml's args
// applied.
func TestSubrequestOutlineDockerfileImage(t *testing.T) {
	t.Parallel()
	c := newStub(map[string]string{
		"werf.yaml":  "project: shop\nconfigVersion: 1\n---\nimage: web\ndockerfile: Dockerfile\nargs: {GREETING: hi}\n",
		"Dockerfile": "FROM alpine\nARG GREETING=hello\nRUN --mount=type=secret,id=token echo $GREETING\n",
	}, map[string]string{"requestid": outline.SubrequestsOutlineDefinition.Name, "target": "web"})
	res, err := Build(context.Background(), c)
	require.NoError(t, err)
	var o outline.Outline
	require.NoError(t, json.Unmarshal(res.Metadata["result.json"], &o))
	require.Equal(t, "dimg from Dockerfile Dockerfile", o.Description)
	require.Len(t, o.Args, 1)
	require.Equal(t, "GREETING", o.Args[0].Name)
	require.Equal(t, "hi", o.Args[0].Value)
	require.Len(t, o.Secrets, 1)
	require.Equal(t, "token", o.Secrets[0].Name)
}

// TestNoCacheFilterDockerfileImage: --no-cache-filter with the werf
// image's name reruns every step of its Dockerfile.
func TestNoCacheFilterDockerfileImage(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"werf.yaml":  "project: shop\nconfigVersion: 1\n---\nimage: web\ndockerfile: Dockerfile\n",
		"Dockerfile": "FROM alpine AS base\nRUN echo base\nFROM base\nRUN echo final\n",
	}
	ignored := func(filter string) int {
		c := newStub(files, map[string]string{"target": "web", "no-cache": filter})
		_, err := Build(context.Background(), c)
		require.NoError(t, err)
		def := c.solved[len(c.solved)-1]
		n := 0
		for _, dt := range def.Def {
			var op pb.Op
			require.NoError(t, op.UnmarshalVT(dt))
			if op.GetExec() != nil && def.Metadata[string(digest.FromBytes(dt))].IgnoreCache {
				n++
			}
		}
		return n
	}
	require.Equal(t, 2, ignored("web"))
	require.Equal(t, 1, ignored("base"))
	require.Equal(t, 0, ignored("other"))
}
