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

// BFDPoll is how often BFD_CHECK looks at its session. keepalived's follows the
// session's events; a poll this short keeps a real server's state within a tenth of a
// second of the session's, which itself takes tens of milliseconds to see a failure.
const BFDPoll = 100 * time.Millisecond

// bfdChecker is BFD_CHECK: the real server is up while the bfd_instance's session is.
type bfdChecker struct {
	name string
	up   func(string) bool
}

func newBFD(spec Spec, env Env) (Checker, error) {
	o, ok := spec.Options.(*BFDOptions)
	if !ok || o == nil || o.Name == "" {
		return nil, errors.New("BFD_CHECK: no name")
	}
	if env.BFDUp == nil {
		return nil, errors.New("BFD_CHECK: no BFD sessions run (no bfd_instance)")
	}
	return &bfdChecker{name: o.Name, up: env.BFDUp}, nil
}

func (c *bfdChecker) Check(context.Context, Target) Result {
	if c.up(c.name) {
		return Up()
	}
	return Down("BFD %s is not Up", c.name)
}

var _ Checker = (*bfdChecker)(nil)
