package frontend

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// traceLine is the format benchmarks parse (docs/benchmarks.md).
var traceLine = regexp.MustCompile(`^dapp-trace: (phase|io|total)=([a-z-]+) ms=[0-9]+\.[0-9] bytes=[0-9]+ calls=[0-9]+$`)

func TestTraceLines(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1000, 0)
	tr := newTracer(t0)
	tr.add(phaseOptions, false, 1500*time.Microsecond, 0, 1)
	tr.add(ioProbe, true, 3*time.Millisecond, 0, 1)
	tr.add(phaseGit, false, 20*time.Millisecond, 6<<20, 7)
	tr.add(phaseGit, false, 5*time.Millisecond, 100, 1)
	tr.add(phaseMarshal, false, 2*time.Millisecond, 12345, 0)
	tr.add(ioProbe, true, 4*time.Millisecond, 0, 1)
	got := tr.lines(t0.Add(2500 * time.Millisecond))
	require.Equal(t, []string{
		"dapp-trace: phase=options ms=1.5 bytes=0 calls=1",
		"dapp-trace: phase=git ms=25.0 bytes=6291556 calls=8",
		"dapp-trace: phase=marshal ms=2.0 bytes=12345 calls=0",
		"dapp-trace: io=probe-solve ms=7.0 bytes=0 calls=2",
		"dapp-trace: total=build ms=2500.0 bytes=0 calls=0",
	}, got, "phases in first-use order, io rows after them, total last")
	for _, l := range got {
		require.Regexp(t, traceLine, l)
	}
}

// TestTraceSpanExcludesNested: time of .git reads that happen inside
// another phase (go-git reads lazily while planning) is git's, not the
// phase's, so the phases add up to the total.
func TestTraceSpanExcludesNested(t *testing.T) {
	t.Parallel()
	tr := newTracer(time.Now())
	end := tr.span(phasePlan)
	inner := tr.span(phaseGit)
	time.Sleep(30 * time.Millisecond)
	inner(10, 2)
	end(0, 0)
	plan, git := tr.byName[phasePlan], tr.byName[phaseGit]
	require.GreaterOrEqual(t, git.d, 30*time.Millisecond)
	require.Less(t, plan.d, 25*time.Millisecond, "the nested git time is taken off the plan")
	require.Equal(t, int64(10), git.bytes)
	require.Equal(t, 2, git.calls)
}

func TestTraceOption(t *testing.T) {
	t.Parallel()
	require.Nil(t, traceOption(nil))
	require.Nil(t, traceOption(map[string]string{"trace": "false"}))
	require.Nil(t, traceOption(map[string]string{"trace": "loud"}), "parseOptions reports the bad value")
	require.NotNil(t, traceOption(map[string]string{"trace": "1"}))
	require.NotNil(t, traceOption(map[string]string{"build-arg:DAPP_TRACE": "true"}))
}

// TestTracerNil: without the option every call is a no-op.
func TestTracerNil(t *testing.T) {
	t.Parallel()
	var tr *tracer
	tr.span(phasePlan)(1, 1)
	tr.add(ioProbe, true, time.Second, 0, 1)
	require.Nil(t, tr.lines(time.Now()))
	require.Nil(t, tracerFrom(withTracer(context.Background(), nil)))
	require.NoError(t, printTrace(context.Background(), nil, nil, nil))
}
