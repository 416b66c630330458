package check

import (
	"fmt"
	"log/slog"

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

var checkers = registry.New[Factory]("checker")

func init() {
	for name, f := range map[string]Factory{
		"TCP_CHECK":  newTCP,
		"HTTP_GET":   newHTTP,
		"SSL_GET":    newSSL,
		"SMTP_CHECK": newSMTP,
		"DNS_CHECK":  newDNS,
		"MISC_CHECK": newMisc,
		"PING_CHECK": newPing,
		"UDP_CHECK":  newUDP,
		"FILE_CHECK": newFile,
		"BFD_CHECK":  newBFD,
	} {
		Register(name, f)
	}
}

// Register makes a checker type available by its block name. A duplicate name panics.
func Register(name string, f Factory) { checkers.Register(name, f) }

// Types lists the registered block names, sorted.
func Types() []string { return checkers.Names() }

// New builds the checker spec describes.
func New(spec Spec, env Env) (Checker, error) {
	if env.Logger == nil {
		env.Logger = slog.New(slog.DiscardHandler)
	}
	f, ok := checkers.Lookup(spec.Type)
	if !ok {
		return nil, fmt.Errorf("%q: %w (want one of %v)", spec.Type, ErrUnknownType, Types())
	}
	return f(spec, env)
}
