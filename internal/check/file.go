package check

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"time"
)

// FileOptions are FILE_CHECK's keywords.
type FileOptions struct {
	Path    string // track_file's file
	Weight  int    // weight N: the file's value × N is added to the real server's weight
	Reverse bool   // weight N reverse: subtracted instead
}

// FilePoll is how often FILE_CHECK reads its file. keepalived watches the file with
// inotify and FILE_CHECK takes no timing keywords; polling every second keeps that
// promptness without a watcher per file.
const FilePoll = time.Second

// maxFileValue bounds the file's value so value × weight cannot overflow.
const maxFileValue = 1 << 20

// fileChecker is FILE_CHECK: the file holds an integer (a missing or empty file is 0).
// With weight 0, a non-zero value is a failure; otherwise value × weight (negated with
// reverse) is the real server's weight offset.
type fileChecker struct{ opts FileOptions }

// FILE_CHECK takes no timing keywords: it follows its file (see FilePoll).
func init() { Register("FILE_CHECK", Kind{New: newFile, Follows: FilePoll, Portless: true}) }

func newFile(spec Spec, _ Env) (Checker, error) {
	o, ok := spec.Options.(*FileOptions)
	if !ok || o == nil || o.Path == "" {
		return nil, errors.New("FILE_CHECK: no track_file")
	}
	if o.Weight < -254 || o.Weight > 254 {
		return nil, fmt.Errorf("FILE_CHECK: weight %d: want -254..254", o.Weight)
	}
	return &fileChecker{opts: *o}, nil
}

func (c *fileChecker) Check(ctx context.Context, _ Target) Result {
	value, err := ReadFileValue(c.opts.Path)
	if err != nil {
		return Result{Err: err}
	}
	if c.opts.Weight == 0 {
		if value != 0 {
			return Down("%s holds %d", c.opts.Path, value)
		}
		return Up()
	}
	offset := value * c.opts.Weight
	if c.opts.Reverse {
		offset = -offset
	}
	return Result{WeightOffset: offset, HasWeight: true}
}

// ReadFileValue reads a tracked file's integer: leading and trailing blanks ignored, a
// missing or empty file is 0, anything else that is not an integer is an error naming
// the file and what it holds.
func ReadFileValue(path string) (int, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 64))
	if err != nil {
		return 0, err
	}
	return ParseFileValue(path, b)
}

// ParseFileValue parses a tracked file's content (see ReadFileValue).
func ParseFileValue(path string, content []byte) (int, error) {
	s := string(bytes.TrimSpace(content))
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < -maxFileValue || n > maxFileValue {
		return 0, fmt.Errorf("%s: content %.20q is not an integer in ±%d", path, s, maxFileValue)
	}
	return n, nil
}

var _ Checker = (*fileChecker)(nil)
