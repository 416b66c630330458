package daemon

import (
	"context"
	"log/slog"
	"time"

	"github.com/govs/govs/internal/config"
	"github.com/govs/govs/internal/script"
)

// startStopScript maps startup_script or shutdown_script with its timeout; nil when the
// keyword is absent.
func startStopScript(s *config.Script, timeoutSeconds int) *script.Spec {
	if s == nil || len(s.Argv) == 0 {
		return nil
	}
	return &script.Spec{Argv: s.Argv, User: s.User, Group: s.Group, Timeout: time.Duration(timeoutSeconds) * time.Second}
}

// runStartStopScript runs the startup or shutdown script as keepalived's parent does:
// checked by script security (an insecure or missing script is not run), waited for at
// most its timeout (then its process group gets SIGTERM, and SIGKILL 2 s later), and
// whatever its result govs goes on starting or stopping; a failure is only logged.
func runStartStopScript(ctx context.Context, kind string, spec *script.Spec, sec script.Security, log *slog.Logger) {
	if spec == nil {
		return
	}
	log = log.With("component", kind)
	s, err := sec.Apply(*spec, log)
	if err != nil {
		log.Warn(kind+" not run", "script", spec.String(), "err", err)
		return
	}
	log.Info("running "+kind, "script", s.String(), "timeout", s.Timeout)
	res := script.Run(ctx, s, log)
	switch {
	case res.TimedOut:
		log.Warn(kind+" timed out and was killed", "script", s.String(), "timeout", s.Timeout)
	case !res.OK():
		log.Warn(kind+" failed", "script", s.String(), "status", res.ExitCode, "err", res.Err)
	}
}
