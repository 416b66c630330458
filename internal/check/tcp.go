package check

import "context"

// tcpChecker is TCP_CHECK: the server is up when a TCP connection completes. The
// connection is then reset rather than closed, as HAProxy's checks do (see
// probeTCPConnect).
type tcpChecker struct{}

func init() { Register("TCP_CHECK", Kind{New: newTCP}) }

func newTCP(Spec, Env) (Checker, error) { return tcpChecker{}, nil }

func (tcpChecker) Check(ctx context.Context, t Target) Result {
	if err := probeTCPConnect(ctx, t); err != nil {
		return Result{Err: err}
	}
	return Up()
}

var _ Checker = tcpChecker{}
