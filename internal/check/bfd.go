package check

import (
	"context"
	"errors"
	"time"
)

// BFDOptions are BFD_CHECK's keywords.
type BFDOptions struct {
	Name string // the bfd_instance
}

// BFDPoll is how often BFD_CHECK looks at its session besides the session's changes,
// which it follows as keepalived's does (Env.BFDChanged).
const BFDPoll = time.Second

// bfdChecker is BFD_CHECK: the real server is up while the bfd_instance's session is.
type bfdChecker struct {
	name    string
	up      func(string) bool
	changed func(string) <-chan struct{}
}

// Nor does BFD_CHECK: it follows its session's changes (a Follower), with BFDPoll as
// a safety net.
func init() { Register("BFD_CHECK", Kind{New: newBFD, Follows: BFDPoll, Portless: true}) }

func newBFD(spec Spec, env Env) (Checker, error) {
	o, ok := spec.Options.(*BFDOptions)
	if !ok || o == nil || o.Name == "" {
		return nil, errors.New("BFD_CHECK: no name")
	}
	if env.BFDUp == nil || env.BFDChanged == nil {
		return nil, errors.New("BFD_CHECK: no BFD sessions run (no bfd_instance)")
	}
	return &bfdChecker{name: o.Name, up: env.BFDUp, changed: env.BFDChanged}, nil
}

func (c *bfdChecker) Changed() <-chan struct{} { return c.changed(c.name) }

func (c *bfdChecker) Check(context.Context, Target) Result {
	if c.up(c.name) {
		return Up()
	}
	return Down("BFD %s is not Up", c.name)
}

var (
	_ Checker  = (*bfdChecker)(nil)
	_ Follower = (*bfdChecker)(nil)
)
