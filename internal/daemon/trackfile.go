package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"

	"github.com/govs/govs/internal/config"
)

// trackFileInit is a track_file's init_file: the value the file starts with.
type trackFileInit struct {
	name, path string
	value      int
	overwrite  bool
}

func trackFileInits(cfg *config.Config) []trackFileInit {
	var out []trackFileInit
	for _, f := range cfg.TrackFiles {
		if f.InitFile != nil && f.File != "" {
			out = append(out, trackFileInit{name: f.Name, path: f.File, value: f.InitFile.Value, overwrite: f.InitFile.Overwrite})
		}
	}
	return out
}

// initTrackFiles writes init_file values as keepalived does when it reads the
// configuration: a missing file is created; an existing one is rewritten only with
// overwrite, only if it is a regular file, and never on a reload.
func initTrackFiles(inits []trackFileInit, reload bool, log *slog.Logger) {
	for _, in := range inits {
		st, err := os.Stat(in.path)
		switch {
		case err == nil && !in.overwrite:
			continue
		case err == nil && !st.Mode().IsRegular():
			log.Error(fmt.Sprintf("Cannot initialise track file %s - it is not a regular file", in.name))
			continue
		case err == nil && reload:
			continue
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			log.Error("track_file init_file", "track_file", in.name, "err", err)
			continue
		}
		if err := os.WriteFile(in.path, fmt.Appendf(nil, "%d\n", in.value), 0o644); err != nil {
			log.Error(fmt.Sprintf("Unable to initialise track file %s", in.name), "err", err)
		}
	}
}
