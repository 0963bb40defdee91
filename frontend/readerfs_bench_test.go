package frontend

import (
	"context"
	"testing"
	"time"

	"github.com/flant/dapp-frontend/gitsource"
	"github.com/flant/dapp-frontend/internal/gittest"
	"github.com/flant/dapp-frontend/llb/gitllb"

	"github.com/moby/buildkit/client/llb"
	"github.com/stretchr/testify/require"
)

// BenchmarkPlanAndApply plans and emits a 5000-file mapping with 500
// commits of history, read through the reader adapter (a gateway stand-in
// without network latency).
func BenchmarkPlanAndApply(b *testing.B) {
	dir := gittest.BigHistory(b, 5000, 500)
	m := depsMapping()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		fs := newReaderFS(context.Background(), &dirReader{root: dir}, ".git")
		repo, err := gitsource.OpenFS(fs)
		require.NoError(b, err)
		head, err := repo.Head()
		require.NoError(b, err)
		p, _, err := gitsource.Plan(repo, head, m, gitsource.PlanOpt{Period: -1})
		require.NoError(b, err)
		planned := time.Since(start)
		st, err := gitllb.Apply(llb.Scratch(), p, p.ArchiveStep(), gitllb.ApplyOpt{})
		require.NoError(b, err)
		def, err := st.Marshal(context.Background())
		require.NoError(b, err)
		size := 0
		for _, dt := range def.Def {
			size += len(dt)
		}
		b.ReportMetric(float64(planned.Milliseconds()), "plan-ms")
		b.ReportMetric(float64(size)/1024, "archive-llb-KiB")
		b.ReportMetric(float64(p.Walked), "commits")
	}
}
