package daemon

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/govs/govs/internal/api/web/status"
)

// The files SIGUSR1, SIGUSR2 and the JSON signal write unless Options say otherwise,
// under TmpDir beside keepalived's keepalived.data, keepalived.stats and keepalived.json.
const (
	DataFileName  = "govs.data"
	StatsFileName = "govs.stats"
	JSONFileName  = "govs.json"
)

// TmpDir is where govs puts its dump and log files unless told otherwise: $TMPDIR when it
// is an absolute path, else /tmp, as keepalived's tmp_dir.
func TmpDir() string {
	if d := os.Getenv("TMPDIR"); filepath.IsAbs(d) {
		return d
	}
	return "/tmp"
}

// TmpFile is name under TmpDir, or name itself when it is an absolute path.
func TmpFile(name string) string {
	if filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(TmpDir(), name)
}

// LogDump writes one of the dumps (DumpData, DumpStats, …), named what in the log, and
// logs where it went or why it did not: what a signal or a D-Bus request asks for.
func (d *Daemon) LogDump(ctx context.Context, what string, dump func(context.Context) (string, error)) {
	if path, err := dump(ctx); err != nil {
		d.log.Error("writing the "+what+" dump", "err", err)
	} else {
		d.log.Info("wrote the "+what+" dump", "file", path)
	}
}

// DumpData writes the full state (SIGUSR1) to Options.DataFile and returns its path.
func (d *Daemon) DumpData(ctx context.Context) (string, error) {
	return d.dump(ctx, d.opts.DataFile, status.Data)
}

// WriteData writes what DumpData puts in the file to w.
func (d *Daemon) WriteData(ctx context.Context, w io.Writer) error {
	snap, err := d.Snapshot(ctx)
	if err != nil {
		return err
	}
	return status.Data(w, snap)
}

// DumpStats writes the counters (SIGUSR2) to Options.StatsFile and returns its path.
func (d *Daemon) DumpStats(ctx context.Context) (string, error) {
	return d.dump(ctx, d.opts.StatsFile, status.Stats)
}

// DumpStatsAndClear writes the counters (keepalived's STATS_CLEAR signal) and then
// zeroes the VRRP instances' statistics, as keepalived.
func (d *Daemon) DumpStatsAndClear(ctx context.Context) (string, error) {
	path, err := d.DumpStats(ctx)
	if err == nil && d.node != nil {
		d.node.ClearStats()
	}
	return path, err
}

// DumpJSON writes the VRRP instances as keepalived's JSON dump (its SIGJSON) to
// Options.JSONFile and returns its path. Without VRRP instances it writes nothing, as
// keepalived.
func (d *Daemon) DumpJSON() (string, error) {
	d.mu.Lock()
	path := withSuffix(d.opts.JSONFile, d.plan.DumpSuffix)
	d.mu.Unlock()
	if d.node == nil {
		return "", nil
	}
	if err := writeFileAtomic(path, d.node.WriteKeepalivedJSON); err != nil {
		return path, fmt.Errorf("dump %s: %w", path, err)
	}
	return path, nil
}

func (d *Daemon) dump(ctx context.Context, path string, format func(io.Writer, status.Snapshot) error) (string, error) {
	d.mu.Lock()
	path = withSuffix(path, d.plan.DumpSuffix)
	d.mu.Unlock()
	snap, err := d.Snapshot(ctx)
	if err != nil {
		return path, fmt.Errorf("dump %s: %w", path, err)
	}
	if err := writeFileAtomic(path, func(w io.Writer) error { return format(w, snap) }); err != nil {
		return path, fmt.Errorf("dump %s: %w", path, err)
	}
	return path, nil
}

// withSuffix puts suffix before path's extension: /tmp/govs.data, "blue" →
// /tmp/govs.blue.data.
func withSuffix(path, suffix string) string {
	if suffix == "" {
		return path
	}
	dir, file := filepath.Split(path)
	if dot := strings.LastIndexByte(file, '.'); dot >= 0 {
		return dir + file[:dot] + "." + suffix + file[dot:]
	}
	return path + "." + suffix
}

// writeFileAtomic writes a new file under a random name in path's directory and renames
// it into place. In a shared directory such as /tmp this never writes through a link
// someone else planted at path (rename replaces the link itself), and a reader never
// sees half a dump.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op once renamed
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	// The temporary file is created 0600; the dump gets 0644 less the umask, as a file
	// created in place would (global_defs umask).
	mode := os.FileMode(0o644)
	if um, err := currentUmask(); err == nil {
		mode &^= um
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
