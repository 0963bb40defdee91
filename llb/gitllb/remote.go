package gitllb

import (
	"context"
	"path"
	"regexp"
	"strings"

	"github.com/flant/dapp-frontend/dappfile"
	"github.com/flant/dapp-frontend/gitsource"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/solver/pb"
	"github.com/pkg/errors"
)

// RemoteOpt configures the git source of a remote mapping.
type RemoteOpt struct {
	// KnownSSHHosts is known_hosts content for ssh URLs. Without it
	// llb.Git scans the host's keys while the LLB is built — a network
	// call that also makes the LLB depend on the scan.
	KnownSSHHosts string
	// SSHID is the ssh agent socket id for ssh URLs ("default" when empty).
	SSHID string
	// AuthTokenSecret names the secret with an HTTPS token; BuildKit's
	// default, GIT_AUTH_TOKEN (and GIT_AUTH_TOKEN.<host>), when empty.
	AuthTokenSecret string
}

var fullCommit = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)

// remoteRef is the ref the mapping asks for: a branch, a tag or a commit;
// "" is the remote's default branch.
func remoteRef(m *dappfile.GitMapping) string {
	switch {
	case m.Commit != "":
		return m.Commit
	case m.Tag != "":
		return m.Tag
	}
	return m.Branch
}

func (o RemoteOpt) gitOptions() []llb.GitOption {
	var opts []llb.GitOption
	if o.KnownSSHHosts != "" {
		opts = append(opts, llb.KnownSSHHosts(o.KnownSSHHosts))
	}
	if o.SSHID != "" {
		opts = append(opts, llb.MountSSHSock(o.SSHID))
	}
	if o.AuthTokenSecret != "" {
		opts = append(opts, llb.AuthTokenSecret(o.AuthTokenSecret))
	}
	return opts
}

// ResolveRemote resolves the branch, tag or commit of a remote mapping to
// a full commit hash through r (the gateway client is one), so the build
// is pinned before it starts. A full commit hash is returned as is.
func ResolveRemote(ctx context.Context, r sourceresolver.MetaResolver, m *dappfile.GitMapping, opt RemoteOpt) (string, error) {
	ref := remoteRef(m)
	if fullCommit.MatchString(ref) {
		return ref, nil
	}
	opts := opt.gitOptions()
	if ref != "" {
		opts = append(opts, llb.GitRef(ref))
	}
	def, err := llb.Git(m.URL, "", opts...).Marshal(ctx)
	if err != nil {
		return "", errors.Wrapf(err, "git mapping %s", m.URL)
	}
	src, err := sourceOp(def)
	if err != nil {
		return "", err
	}
	md, err := r.ResolveSourceMetadata(ctx, src, sourceresolver.Opt{
		LogName: "resolving " + m.URL + " " + refName(ref),
		GitOpt:  &sourceresolver.ResolveGitOpt{},
	})
	if err != nil {
		return "", errors.Wrapf(err, "failed to resolve %s of %s", refName(ref), m.URL)
	}
	if md == nil || md.Git == nil {
		return "", errors.Errorf("failed to resolve %s of %s: no git metadata", refName(ref), m.URL)
	}
	commit := md.Git.CommitChecksum
	if commit == "" {
		commit = md.Git.Checksum
	}
	if !fullCommit.MatchString(commit) {
		return "", errors.Errorf("failed to resolve %s of %s: got %q", refName(ref), m.URL, commit)
	}
	return commit, nil
}

func refName(ref string) string {
	if ref == "" {
		return "the default branch"
	}
	return strings.TrimSpace(ref)
}

// RemoteSource is the repository of a remote mapping at commit (from
// ResolveRemote): llb.Git with submodules at their recorded commits and
// without .git. A branch or tag stays the ref and the commit becomes its
// checksum, so the build fails instead of silently taking a moved ref.
func RemoteSource(m *dappfile.GitMapping, commit string, opt RemoteOpt) llb.State {
	opts := opt.gitOptions()
	ref := remoteRef(m)
	if ref == "" || fullCommit.MatchString(ref) {
		opts = append(opts, llb.GitRef(commit))
	} else {
		opts = append(opts, llb.GitRef(ref), llb.GitChecksum(commit))
	}
	return llb.Git(m.URL, "", opts...)
}

// CopyMapping copies a mapping's files from src (RemoteSource, or
// the build context in dev mode) onto base in one FileOp: add → to, filtered by
// includePaths/excludePaths (BuildKit's copy patterns: `**` recursive, a
// directory selects its content), owned by owner/group. The stage code
// puts it where gitArchive goes, before install.
func CopyMapping(base, src llb.State, m *dappfile.GitMapping, opts ...llb.ConstraintsOpt) llb.State {
	ci := &llb.CopyInfo{
		CopyDirContentsOnly: true,
		CreateDestPath:      true,
		IncludePatterns:     cleanPatterns(m.IncludePaths),
		ExcludePatterns:     cleanPatterns(m.ExcludePaths),
		ChownOpt:            ChownOpt(m.Owner, m.Group),
	}
	name := "git " + mappingSource(m) + " → " + m.To
	cos := append([]llb.ConstraintsOpt{llb.WithCustomName(name)}, opts...)
	return base.File(llb.Copy(src, path.Join("/", m.Add), path.Join("/", m.To), ci), cos...)
}

func mappingSource(m *dappfile.GitMapping) string {
	if m.URL == "" {
		return "working tree " + path.Join("/", m.Add)
	}
	if ref := remoteRef(m); ref != "" {
		return m.URL + "@" + ref + ":" + path.Join("/", m.Add)
	}
	return m.URL + ":" + path.Join("/", m.Add)
}

// cleanPatterns makes patterns relative: dapp allows a leading slash.
func cleanPatterns(ps []string) []string {
	if len(ps) == 0 {
		return nil
	}
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		p = strings.TrimLeft(path.Clean("/"+p), "/")
		if p == "" {
			p = "**"
		}
		out = append(out, gitsource.CopyPattern(p))
	}
	return out
}

func sourceOp(def *llb.Definition) (*pb.SourceOp, error) {
	for _, dt := range def.Def {
		var op pb.Op
		if err := op.UnmarshalVT(dt); err != nil {
			return nil, errors.Wrap(err, "failed to decode git source")
		}
		if src := op.GetSource(); src != nil {
			return src, nil
		}
	}
	return nil, errors.New("git source op not found")
}
