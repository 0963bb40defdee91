package gitsource

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"testing"
	"time"

	"github.com/moby/buildkit/client/llb"
	"github.com/stretchr/testify/require"
)

// bigHistory makes a repository of files×commits with git fast-import, one
// changed file per commit.
func bigHistory(b testing.TB, files, commits int) string {
	dir := b.TempDir()
	runGit(b, dir, tuesday, "init", "-q", "-b", "main")
	var stream []byte
	mark := 0
	ts := tuesday.Unix()
	emit := func(format string, args ...any) { stream = fmt.Appendf(stream, format, args...) }
	for c := 0; c < commits; c++ {
		mark++
		msg := fmt.Sprintf("commit %d", c)
		emit("commit refs/heads/main\nmark :%d\ncommitter t <t@example.com> %d +0000\ndata %d\n%s\n", mark, ts+int64(c*60), len(msg), msg)
		if c > 0 {
			emit("from :%d\n", mark-1)
		}
		if c == 0 {
			for f := 0; f < files; f++ {
				data := fmt.Sprintf("file %d content %s\n", f, string(make([]byte, 200)))
				emit("M 100644 inline src/d%d/f%d.txt\ndata %d\n%s\n", f%50, f, len(data), data)
			}
			continue
		}
		data := fmt.Sprintf("change %d\n", c)
		emit("M 100644 inline src/d%d/f%d.txt\ndata %d\n%s\n", c%50, c%files, len(data), data)
	}
	cmd := exec.Command("git", "fast-import", "--quiet")
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(stream)
	out, err := cmd.CombinedOutput()
	require.NoError(b, err, "%s", out)
	runGit(b, dir, tuesday, "reset", "-q", "--hard", "main")
	return dir
}

// BenchmarkPlanAndApply plans and emits a 5000-file mapping with 500
// commits of history, read through the reader adapter (a gateway stand-in
// without network latency).
func BenchmarkPlanAndApply(b *testing.B) {
	dir := bigHistory(b, 5000, 500)
	m := depsMapping()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		fs := NewReaderFS(context.Background(), &dirReader{root: dir}, ".git")
		repo, err := OpenFS(fs)
		require.NoError(b, err)
		head, err := repo.Head()
		require.NoError(b, err)
		p, _, err := Plan(repo, head, m, PlanOpt{Period: -1})
		require.NoError(b, err)
		planned := time.Since(start)
		st, err := p.Apply(llb.Scratch(), p.ArchiveStep(), ApplyOpt{})
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
