// Package adm implements the ipvsadm 1.31 command line for govs: a parser that turns an
// argv into a typed Command with ipvsadm's own errors and exit codes, an in-memory model
// of the kernel's IPVS table that applies commands with the kernel's errors, and the
// formatters of every listing ipvsadm prints (-L in all its forms, -L -c, --timeout,
// --daemon, -S), byte for byte.
//
// Run ties them together exactly as ipvsadm's process_options does, against a Backend:
// the daemon's engine in production, a Model in tests.
package adm

import (
	"net/netip"

	"github.com/govs/govs/internal/table"
)

// Op is the command of one ipvsadm invocation.
type Op int

// Commands, in ipvsadm's order (CMD_*); the names are ipvsadm's cmdnames.
const (
	OpNone        Op = iota
	OpAddService     // -A, add-service
	OpEditService    // -E, edit-service
	OpDelService     // -D, delete-service
	OpFlush          // -C, flush
	OpList           // -L / -l, list
	OpAddDest        // -a, add-server
	OpDelDest        // -d, delete-server
	OpEditDest       // -e, edit-server
	OpSetTimeouts    // --set, set
	OpStartDaemon    // --start-daemon, start-daemon
	OpStopDaemon     // --stop-daemon, stop-daemon
	OpRestore        // -R, restore
	OpSave           // -S, save
	OpZero           // -Z, zero
	OpHelp           // -h: print the usage
	OpVersion        // -v: print the version
)

var opNames = [...]string{
	OpAddService:  "add-service",
	OpEditService: "edit-service",
	OpDelService:  "delete-service",
	OpFlush:       "flush",
	OpList:        "list",
	OpAddDest:     "add-server",
	OpDelDest:     "delete-server",
	OpEditDest:    "edit-server",
	OpSetTimeouts: "set",
	OpStartDaemon: "start-daemon",
	OpStopDaemon:  "stop-daemon",
	OpRestore:     "restore",
	OpSave:        "save",
	OpZero:        "zero",
	OpHelp:        "help",
	OpVersion:     "version",
}

func (o Op) String() string {
	if o > OpNone && int(o) < len(opNames) {
		return opNames[o]
	}
	return "none"
}

// Changes reports whether the command modifies the table, timeouts or daemons (what a
// Backend's Apply receives).
func (o Op) Changes() bool {
	switch o {
	case OpAddService, OpEditService, OpDelService, OpFlush, OpAddDest, OpDelDest,
		OpEditDest, OpSetTimeouts, OpStartDaemon, OpStopDaemon, OpZero:
		return true
	}
	return false
}

// Command is one parsed and validated ipvsadm invocation.
type Command struct {
	Op Op
	// HasService is set when a virtual service was named (-t/-u/--sctp-service/-f): the
	// service to list with -L, to zero with -Z, and always for service and server commands.
	HasService bool
	// Service carries the key and, for -A/-E, every attribute: ipvsadm sends a complete
	// object, so an attribute not given is its default (scheduler wlc, not persistent,
	// no flags). Dests is always empty.
	Service table.Service
	// Dest is the real server of -a/-e/-d, complete in the same way (weight 1, -g,
	// thresholds 0).
	Dest table.Dest
	// Timeouts are --set's values in whole seconds; zero keeps the current value.
	Timeouts table.Timeouts
	// Daemon is the sync daemon of --start-daemon/--stop-daemon (only State and SyncID
	// matter for a stop).
	Daemon Daemon
	// List is how -L and -S print.
	List ListOptions
}

// ListOptions select the listing format (-L) and its flags.
type ListOptions struct {
	Numeric     bool // -n
	Conns       bool // -c
	Timeout     bool // --timeout
	Daemon      bool // --daemon
	Stats       bool // --stats
	Rate        bool // --rate
	Thresholds  bool // --thresholds
	PersistConn bool // --persistent-conn
	TunInfo     bool // --tun-info
	NoSort      bool // --nosort
	Exact       bool // -X, --exact
}

// DaemonState is the role of a connection sync daemon.
type DaemonState int

// Sync daemon roles, numbered as IP_VS_STATE_*.
const (
	DaemonMaster DaemonState = 1
	DaemonBackup DaemonState = 2
)

func (s DaemonState) String() string {
	switch s {
	case DaemonMaster:
		return "master"
	case DaemonBackup:
		return "backup"
	}
	return "none"
}

// Daemon is a connection sync daemon's configuration, as --start-daemon sets it and
// -L --daemon lists it. Zero fields are "not known" when listed and defaults when started.
type Daemon struct {
	State     DaemonState
	Interface string     // --mcast-interface, default eth0
	SyncID    int        // --syncid 0..255, default 0 (no filtering)
	MaxLen    int        // --sync-maxlen
	Group     netip.Addr // --mcast-group
	Port      int        // --mcast-port
	TTL       int        // --mcast-ttl
}

// Error is an ipvsadm usage error: the message ipvsadm prints on stderr and its exit
// status.
type Error struct {
	Msg  string
	Code int // 2 for a validation error (fail), 255 for the "Try ... -h" exits and popt errors
	// Recoverable marks popt's own errors ("-s: missing argument"), after which ipvsadm
	// returns -1 instead of exiting: inside -R the next line still runs.
	Recoverable bool
}

func (e *Error) Error() string { return e.Msg }
