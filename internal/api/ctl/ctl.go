// Package ctl is the daemon's unix control socket, which `govs adm` talks to: the client
// sends an ipvsadm command line (and, for -R, its input) as one JSON request, the server
// runs it with package adm against the engine's Handler and answers with the stdout,
// stderr and exit status ipvsadm would have produced.
//
// The protocol is one JSON object each way per connection: the client writes a Request
// and closes its side for writing, the server writes a Response and closes.
package ctl

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/govs/govs/internal/adm"
)

// DefaultSocket is where the daemon listens unless --socket or $GOVS_SOCKET say otherwise.
const DefaultSocket = "/run/govs/govs.sock"

// SocketEnv names the environment variable that overrides DefaultSocket.
const SocketEnv = "GOVS_SOCKET"

// SocketPath chooses the socket: the --socket flag's value when set, else $GOVS_SOCKET,
// else DefaultSocket, or for a daemon in the named network namespace netns
// (net_namespace) /run/govs/NETNS/govs.sock, as keepalived keeps a directory of pid
// files per namespace. `govs run` passes the namespace it runs in, `govs adm` the one
// it is started in (ip netns exec NETNS govs adm …).
func SocketPath(flag, netns string) string {
	if flag != "" {
		return flag
	}
	if env := os.Getenv(SocketEnv); env != "" {
		return env
	}
	if netns != "" {
		return filepath.Join(filepath.Dir(DefaultSocket), netns, filepath.Base(DefaultSocket))
	}
	return DefaultSocket
}

// Prog is the program name govs adm's messages and usage show where ipvsadm shows its own.
const Prog = "govs adm"

// Version is govs adm's -v line.
const Version = "govs adm, compatible with ipvsadm v1.31 (IPVS v1.2.1)"

// Handler is what the server runs commands against; the daemon's engine implements it
// (adm.Model does too, for tests).
type Handler interface {
	adm.Backend
}

// Request is one govs adm invocation.
type Request struct {
	Argv  []string `json:"argv"`            // ipvsadm's arguments, without the program name
	Stdin []byte   `json:"stdin,omitempty"` // the input of -R
	// Status asks for the daemon's status snapshot (govs status) instead of running Argv.
	Status bool `json:"status,omitempty"`
}

// Response is what the invocation printed and its exit status.
type Response struct {
	Stdout string `json:"stdout"`
	Stderr string `json:"stderr"`
	Code   int    `json:"code"`
	// Status is the snapshot a Status request asked for, as JSON text.
	Status string `json:"status,omitempty"`
}

// MaxMessage bounds a request or response on the wire, so a peer cannot make the other
// side buffer without limit.
const MaxMessage = 16 << 20

// ErrTooLarge is returned for a message over MaxMessage.
var ErrTooLarge = fmt.Errorf("ctl: message larger than %d bytes", MaxMessage)

// ErrUnreachable wraps every failure to connect to the daemon.
var ErrUnreachable = errors.New("govs daemon not reachable")
