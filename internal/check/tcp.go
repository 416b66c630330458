package check

import (
	"context"
	"net"
)

// tcpChecker is TCP_CHECK: the server is up when a TCP connection completes. The
// connection is then reset rather than closed (as HAProxy's checks do): the server sees
// one RST instead of a FIN exchange, and the director keeps no TIME_WAIT socket per
// check, which matters at a thousand checks a second.
type tcpChecker struct{}

func newTCP(Spec, Env) (Checker, error) { return tcpChecker{}, nil }

func (tcpChecker) Check(ctx context.Context, t Target) Result {
	c, err := dial(ctx, t, "tcp")
	if err != nil {
		return Result{Err: err}
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	c.Close()
	return Up()
}

var _ Checker = tcpChecker{}
