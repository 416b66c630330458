package ctl

import (
	"context"
	"fmt"
	"net"
	"time"
)

// callTimeout bounds a call whose context has no deadline.
const callTimeout = 60 * time.Second

// Call sends one request to the daemon listening at path and returns its answer. A
// failure to connect wraps ErrUnreachable and names the path.
func Call(ctx context.Context, path string, req Request) (Response, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, callTimeout)
		defer cancel()
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return Response{}, fmt.Errorf("%w at %s: %w", ErrUnreachable, path, err)
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	if err := conn.SetDeadline(deadline); err != nil {
		return Response{}, err
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if err := writeMessage(conn, req); err != nil {
		return Response{}, fmt.Errorf("ctl: sending to %s: %w", path, err)
	}
	if err := conn.(*net.UnixConn).CloseWrite(); err != nil {
		return Response{}, fmt.Errorf("ctl: sending to %s: %w", path, err)
	}
	resp, err := readMessage[Response](conn)
	if err != nil {
		return Response{}, fmt.Errorf("ctl: reading the answer from %s: %w", path, err)
	}
	return resp, nil
}
