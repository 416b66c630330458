package notify

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// WriteFIFO writes one line to a notify FIFO, creating it when missing. A FIFO
// nobody reads is not an error worth more than a debug line: the line is dropped, as
// keepalived drops it. A regular file is appended to.
func WriteFIFO(path, line string) error {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if err := unix.Mkfifo(path, 0o600); err != nil && !errors.Is(err, syscall.EEXIST) {
			return fmt.Errorf("creating %s: %w", path, err)
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|syscall.O_NONBLOCK, 0)
	if errors.Is(err, syscall.ENXIO) {
		return nil // no reader
	}
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteString(line)
	return err
}
