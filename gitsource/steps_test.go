package gitsource

import (
	"testing"

	"github.com/flant/dapp-frontend/dappfile"
	"github.com/flant/dapp-frontend/stages"
	"github.com/stretchr/testify/require"
)

func TestStepsAt(t *testing.T) {
	t.Parallel()
	h := newHistory(t)
	h.Write("package.json", "{}")
	h.Write("src/a", "a")
	h.commitAs("c0", "init")
	h.Write("package.json", "{1}")
	h.commitAs("c1", "deps")
	h.Write("src/a", "a2")
	h.commitAs("c2", "src")
	withDeps, _ := h.plan(depsMapping(), PlanOpt{})
	plain, _ := h.plan(mapping("/src", "/src"), PlanOpt{})
	plans := []*MappingPlan{withDeps, plain}

	require.Len(t, StepsAt(plans, stages.Stage{ID: stages.GitArchive}), 2)
	install := StepsAt(plans, stages.Stage{ID: stages.GitPatch, User: dappfile.Install})
	require.Len(t, install, 1)
	require.Same(t, withDeps, install[0].Plan)
	require.Empty(t, StepsAt(plans, stages.Stage{ID: stages.GitPatch, User: dappfile.BeforeSetup}))
	require.Len(t, StepsAt(plans, stages.Stage{ID: stages.GitPatch, User: dappfile.Setup}), 1)
	require.Empty(t, StepsAt(plans, stages.Stage{ID: stages.GitCache}))
	latest := StepsAt(plans, stages.Stage{ID: stages.GitLatestPatch})
	require.Len(t, latest, 1)
	require.Same(t, plain, latest[0].Plan)
	require.Empty(t, StepsAt(plans, stages.Stage{ID: stages.Install}), "not a git stage")
}
