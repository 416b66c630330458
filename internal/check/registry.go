package check

import (
	"fmt"
	"log/slog"
	"sort"
	"sync"

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

var (
	registryMu sync.RWMutex
	registry   = map[string]Factory{
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
	}
)

// Register adds (or replaces) a checker type.
func Register(name string, f Factory) {
	registryMu.Lock()
	defer registryMu.Unlock()
	registry[name] = f
}

// Types lists the registered block names, sorted.
func Types() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	out := make([]string, 0, len(registry))
	for name := range registry {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// New builds the checker spec describes.
func New(spec Spec, env Env) (Checker, error) {
	if env.Logger == nil {
		env.Logger = slog.New(slog.DiscardHandler)
	}
	registryMu.RLock()
	f, ok := registry[spec.Type]
	registryMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%q: %w (want one of %v)", spec.Type, ErrUnknownType, Types())
	}
	return f(spec, env)
}
