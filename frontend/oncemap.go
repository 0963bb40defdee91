package frontend

import "sync"

// onceMap computes the value of each key once per build, however many
// goroutines ask for it at the same time: the work the frontend starts
// ahead (work trees, base images) and the conversions that need it then
// share one result.
type onceMap[V any] struct {
	mu sync.Mutex
	m  map[string]*onceEntry[V]
}

type onceEntry[V any] struct {
	once sync.Once
	v    V
}

// get returns key's value, computing it with compute the first time.
func (o *onceMap[V]) get(key string, compute func() V) V {
	o.mu.Lock()
	if o.m == nil {
		o.m = map[string]*onceEntry[V]{}
	}
	e, ok := o.m[key]
	if !ok {
		e = &onceEntry[V]{}
		o.m[key] = e
	}
	o.mu.Unlock()
	e.once.Do(func() { e.v = compute() })
	return e.v
}
