package registry

import (
	"slices"
	"testing"
)

func TestRegistry(t *testing.T) {
	r := New[func() int]("widget")
	r.Register("b", func() int { return 2 })
	r.Register("a", func() int { return 1 })
	if f, ok := r.Lookup("b"); !ok || f() != 2 {
		t.Errorf("Lookup(b): found %v, or not the factory registered", ok)
	}
	if _, ok := r.Lookup("c"); ok {
		t.Error("Lookup(c) found something")
	}
	if got := r.Names(); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("Names() = %v", got)
	}
	defer func() {
		if p := recover(); p != "registry: duplicate widget a" {
			t.Errorf("a duplicate: panic %v", p)
		}
	}()
	r.Register("a", func() int { return 3 })
}
