// Package fuzzbound checks that one fuzz input stays within time and
// memory: a hostile input must end quickly and in bounded memory, not
// only without a panic.
package fuzzbound

import (
	"runtime"
	"testing"
	"time"
)

// Defaults for Check: the frontend's promise for every hostile input is
// 2 s and 512 MiB; the fuzzing engine itself and a loaded CI machine need
// slack on time, and allocations are counted whole (never more than the
// peak), so both are generous but still far below a hang or a blow-up.
const (
	MaxTime  = 2 * time.Second
	MaxAlloc = 512 << 20
)

// Check runs fn and fails t when it took longer than maxTime or allocated
// more than maxAlloc bytes in total (an upper bound of its peak memory).
func Check(t testing.TB, maxTime time.Duration, maxAlloc uint64, fn func()) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	fn()
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	if took > maxTime {
		t.Fatalf("one input took %v, more than %v", took, maxTime)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > maxAlloc {
		t.Fatalf("one input allocated %d bytes, more than %d", alloc, maxAlloc)
	}
}
