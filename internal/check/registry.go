package check

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/govs/govs/internal/registry"
	"github.com/govs/govs/internal/script"
)

// Env is what a factory may need besides the block itself.
type Env struct {
	Logger   *slog.Logger
	Security script.Security // script_user, enable_script_security (MISC_CHECK)
	// BFDUp says whether a bfd_instance's session is Up (BFD_CHECK); nil: no sessions.
	// BFDChanged returns a channel closed at the session's next change.
	BFDUp      func(name string) bool
	BFDChanged func(name string) <-chan struct{}
}

// Factory builds a checker from its block, validating the block's options; errors name
// the keyword at fault.
type Factory func(spec Spec, env Env) (Checker, error)

// Kind is one checker type: how to build it, and how its timing differs from
// keepalived's general defaults (retry 1, delay_before_retry 1 s, warmup = delay_loop).
type Kind struct {
	New Factory
	// Defaults changes the general defaults before the block's own values apply.
	Defaults func(*Timers)
	// Follows, when set, replaces the timing altogether: the type takes no timing
	// keywords and looks every Follows (it follows a file or a session).
	Follows time.Duration
	// Portless types connect to no port (so a real server without one is fine).
	Portless bool
}

// kindOf is the registered type name's Kind; the zero Kind for an unknown one.
func kindOf(name string) Kind {
	k, _ := checkers.Lookup(name)
	return k
}

var checkers = registry.New[Kind]("checker")

// Register makes a checker type available by its block name: each type's file
// registers its own. A duplicate name panics.
func Register(name string, k Kind) { checkers.Register(name, k) }

// Types lists the registered block names, sorted.
func Types() []string { return checkers.Names() }

// New builds the checker spec describes.
func New(spec Spec, env Env) (Checker, error) {
	if env.Logger == nil {
		env.Logger = slog.New(slog.DiscardHandler)
	}
	k, ok := checkers.Lookup(spec.Type)
	if !ok {
		return nil, fmt.Errorf("%q: %w (want one of %v)", spec.Type, ErrUnknownType, Types())
	}
	return k.New(spec, env)
}
