package check

import "context"

// tcpChecker is TCP_CHECK: the server is up when a TCP connection completes.
type tcpChecker struct{}

func newTCP(Spec, Env) (Checker, error) { return tcpChecker{}, nil }

func (tcpChecker) Check(ctx context.Context, t Target) Result {
	c, err := dial(ctx, t, "tcp")
	if err != nil {
		return Result{Err: err}
	}
	c.Close()
	return Up()
}

var _ Checker = tcpChecker{}
