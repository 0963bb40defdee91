package llb

import (
	"context"
	"fmt"
	"strings"

	"github.com/flant/dapp-frontend/dappfile"
	"github.com/flant/dapp-frontend/llb/gitllb"
	"github.com/flant/dapp-frontend/stages"
	bkllb "github.com/moby/buildkit/client/llb"
)

// applyImports copies files out of artifacts: one FileOp per import point,
// one copy action per import. The artifact is its own subgraph, so BuildKit
// builds it in parallel with this image up to here.
func (sb *stageBuilder) applyImports(ctx context.Context, st stages.Stage) error {
	var fa *bkllb.FileAction
	var names []string
	for _, imp := range st.Imports {
		art, err := sb.b.lookup(imp.Artifact)
		if err != nil {
			return withLocation(sb.b.cfg, err, imp.Loc)
		}
		out, err := sb.b.build(ctx, art)
		if err != nil {
			return err
		}
		from := out.state
		if imp.Stage != "" {
			if s, ok := out.afterStage[imp.Stage]; ok {
				from = s
			}
		}
		cp := importCopy(imp)
		if fa == nil {
			fa = bkllb.Copy(from, imp.Add, imp.To, cp)
		} else {
			fa = fa.Copy(from, imp.Add, imp.To, cp)
		}
		names = appendUnique(names, imp.Artifact)
	}
	point := "after"
	if st.Imports[0].Point.Before {
		point = "before"
	}
	name := fmt.Sprintf("[%s] import → %s (%s %s)", sb.namePrefix(strings.Join(names, ", ")), displayName(sb.img), point, st.Imports[0].Point.Stage)
	sb.addLayer(sb.state.File(fa, sb.constraints(st, name)...), name)
	return nil
}

func importCopy(imp *dappfile.Import) *bkllb.CopyInfo {
	return &bkllb.CopyInfo{
		FollowSymlinks:      true,
		CopyDirContentsOnly: true,
		CreateDestPath:      true,
		AllowWildcard:       true,
		IncludePatterns:     imp.IncludePaths,
		ExcludePatterns:     imp.ExcludePaths,
		ChownOpt:            gitllb.ChownOpt(imp.Owner, imp.Group),
	}
}

func appendUnique(list []string, s string) []string {
	for _, v := range list {
		if v == s {
			return list
		}
	}
	return append(list, s)
}
