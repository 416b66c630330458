package daemon

import (
	"bufio"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/govs/govs/internal/config"
)

// applyUmask sets the process umask from global_defs umask, as keepalived's umask
// handler does each time it reads the configuration: at start and on every reload. A
// configuration without the keyword leaves the umask as it is (govs run starts with
// keepalived's 0177). A umask given on the command line wins, as keepalived's -u does.
func applyUmask(m *config.FileMask, cmdline bool, log *slog.Logger) {
	switch {
	case m == nil:
	case cmdline:
		log.Info("umask command line option specified, ignoring config option", "umask", fmt.Sprintf("%04o", uint32(*m)))
	default:
		syscall.Umask(int(*m))
	}
}

// currentUmask reads the process umask without changing it (umask(2) can only be read
// by setting it, which would leave a window with the wrong mask for other goroutines).
func currentUmask() (os.FileMode, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Umask:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32)
			if err != nil {
				return 0, fmt.Errorf("/proc/self/status: Umask %q: %w", v, err)
			}
			return os.FileMode(n) & os.ModePerm, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("/proc/self/status has no Umask line")
}
