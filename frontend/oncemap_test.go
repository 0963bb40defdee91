package frontend

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestOnceMapComputesOnce: goroutines asking for one key at the same time
// share one computation; another key gets its own.
func TestOnceMapComputesOnce(t *testing.T) {
	t.Parallel()
	var m onceMap[int]
	var calls atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			require.Equal(t, 42, m.get("a", func() int { calls.Add(1); return 42 }))
		}()
	}
	close(start)
	wg.Wait()
	require.Equal(t, int64(1), calls.Load())
	require.Equal(t, 7, m.get("b", func() int { calls.Add(1); return 7 }))
	require.Equal(t, int64(2), calls.Load())
}
