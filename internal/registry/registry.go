// Package registry is the name → factory table behind each pluggable part of govs (a
// scheduler, a checker, a data plane): each implementation registers itself from its
// own file, so adding one touches one place.
package registry

import (
	"slices"
	"sync"
)

// Registry maps names to factories of type F.
type Registry[F any] struct {
	kind string // "scheduler", "checker": in the duplicate panic
	mu   sync.RWMutex
	m    map[string]F
}

// New returns an empty registry of the kind of thing named.
func New[F any](kind string) *Registry[F] {
	return &Registry[F]{kind: kind, m: map[string]F{}}
}

// Register adds f under name. A name registered twice panics: it is a programming
// error, found at start.
func (r *Registry[F]) Register(name string, f F) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.m[name]; dup {
		panic("registry: duplicate " + r.kind + " " + name)
	}
	r.m[name] = f
}

// Lookup returns the factory registered under name.
func (r *Registry[F]) Lookup(name string) (F, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	f, ok := r.m[name]
	return f, ok
}

// Names lists the registered names, sorted.
func (r *Registry[F]) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.m))
	for n := range r.m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
