package llb

import (
	"path"
	"strings"

	"github.com/flant/dapp-frontend/dappfile"
	"github.com/flant/dapp-frontend/stages"
	bkllb "github.com/moby/buildkit/client/llb"
	"github.com/pkg/errors"
)

// applyGit puts the sources of every git mapping into the image at the
// gitArchive stage: the build context's own files for local mappings, a
// pinned llb.Git checkout for remote ones. gitCache and gitLatestPatch add
// nothing yet: without history the whole tree is the archive.
func (sb *stageBuilder) applyGit(st stages.Stage) error {
	if st.ID != stages.GitArchive {
		return nil
	}
	var fa *bkllb.FileAction
	for _, m := range st.Git {
		src, err := sb.gitSource(m)
		if err != nil {
			return withLocation(sb.b.cfg, err, m.Loc)
		}
		cp := &bkllb.CopyInfo{
			CopyDirContentsOnly: true,
			CreateDestPath:      true,
			AllowWildcard:       true,
			AllowEmptyWildcard:  true,
			IncludePatterns:     m.IncludePaths,
			ExcludePatterns:     m.ExcludePaths,
			ChownOpt:            chown(m.Owner, m.Group),
		}
		if fa == nil {
			fa = bkllb.Copy(src, m.Add, m.To, cp)
		} else {
			fa = fa.Copy(src, m.Add, m.To, cp)
		}
	}
	sb.state = sb.state.File(fa, sb.constraints(st, sb.vertexName(st.ID, gitSummary(st.Git)))...)
	return nil
}

func (sb *stageBuilder) gitSource(m *dappfile.GitMapping) (bkllb.State, error) {
	if m.URL != "" {
		ref := m.Commit
		if ref == "" {
			ref = m.Tag
		}
		if ref == "" {
			ref = m.Branch
		}
		return bkllb.Git(m.URL, ref, bkllb.WithCustomName("[internal] git "+m.URL)), nil
	}
	if sb.b.opt.BuildContext == nil {
		return bkllb.State{}, errors.New("a local git mapping needs the build context, which this conversion does not have")
	}
	include, exclude := contextPatterns(m)
	return sb.b.opt.BuildContext(include, exclude)
}

// contextPatterns narrows the build context transfer to the files a local
// mapping can use: everything under add (or just the include paths there),
// never .git.
func contextPatterns(m *dappfile.GitMapping) (include, exclude []string) {
	base := strings.TrimPrefix(path.Clean(m.Add), "/")
	switch {
	case len(m.IncludePaths) > 0:
		for _, p := range m.IncludePaths {
			include = append(include, path.Join(base, p))
		}
	case base != "":
		include = []string{base}
	}
	for _, p := range m.ExcludePaths {
		exclude = append(exclude, path.Join(base, p))
	}
	exclude = append(exclude, ".git")
	return include, exclude
}

func gitSummary(ms []*dappfile.GitMapping) string {
	var parts []string
	for _, m := range ms {
		src := "context"
		if m.URL != "" {
			src = m.URL
		}
		parts = append(parts, src+":"+m.Add+" → "+m.To)
	}
	return strings.Join(parts, ", ")
}
