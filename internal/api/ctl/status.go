package ctl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// statusTimeout bounds the daemon's answer to a status request.
const statusTimeout = 10 * time.Second

// status answers a status request. It does not wait for a running adm command: a
// snapshot only reads.
func (s *Server) status() Response {
	if s.Status == nil {
		return Response{Stderr: "govs status: this daemon does not serve status requests\n", Code: 1}
	}
	ctx, cancel := context.WithTimeout(context.Background(), statusTimeout)
	defer cancel()
	data, err := s.Status(ctx)
	if err != nil {
		return Response{Stderr: "govs status: " + err.Error() + "\n", Code: 1}
	}
	return Response{Status: string(data)}
}

// ErrNoStatus is returned by CallStatus when the daemon answered without a snapshot.
var ErrNoStatus = errors.New("the daemon sent no status")

// CallStatus asks the daemon at path for its status snapshot and returns it as JSON.
func CallStatus(ctx context.Context, path string) (json.RawMessage, error) {
	resp, err := Call(ctx, path, Request{Status: true})
	if err != nil {
		return nil, err
	}
	if resp.Code != 0 || len(resp.Status) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrNoStatus, resp.Stderr)
	}
	return json.RawMessage(resp.Status), nil
}
