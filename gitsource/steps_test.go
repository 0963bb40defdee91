package gitsource

import (
	"testing"

	"github.com/flant/dapp-frontend/dappfile"
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

	require.Len(t, StepsAt(plans, StepArchive, ""), 2)
	install := StepsAt(plans, StepStagePatch, dappfile.Install)
	require.Len(t, install, 1)
	require.Same(t, withDeps, install[0].Plan)
	require.Empty(t, StepsAt(plans, StepStagePatch, dappfile.BeforeSetup))
	require.Len(t, StepsAt(plans, StepStagePatch, dappfile.Setup), 1)
	require.Empty(t, StepsAt(plans, StepCache, ""))
	latest := StepsAt(plans, StepLatestPatch, "")
	require.Len(t, latest, 1)
	require.Same(t, plain, latest[0].Plan)
}
