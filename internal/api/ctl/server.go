package ctl

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/govs/govs/internal/adm"
)

// requestTimeout bounds one connection: reading the request, running it, writing the
// answer. A command only touches memory, so this is only reached by a stuck client.
const requestTimeout = 30 * time.Second

// Server answers govs adm requests.
type Server struct {
	Handler  Handler
	Resolver adm.Resolver // nil: the host's files and DNS (adm.SystemResolver)
	Logger   *slog.Logger // nil: slog.Default()
	// Status answers status requests with the daemon's snapshot as JSON; nil refuses them.
	Status func(context.Context) ([]byte, error)

	// mu runs one command at a time, as separate ipvsadm processes against one kernel
	// would see each other's changes whole.
	mu sync.Mutex
}

// makeDir creates dir and its missing parents with mode 0755 whatever the umask, as
// keepalived makes its run directories: govs run's umask (keepalived's 0177 by default)
// would otherwise leave a new directory without its owner's search bit, so an
// unprivileged daemon could not reach its own socket.
func makeDir(dir string) error {
	fi, err := os.Stat(dir)
	if err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory", dir)
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := makeDir(filepath.Dir(dir)); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil
		}
		return err
	}
	return os.Chmod(dir, 0o755)
}

// Listen creates the control socket at path with mode 0600, creating its directory. A
// stale socket left by a dead daemon is replaced; a live one, or a file that is not a
// socket, is an error. The socket is made under a temporary name and renamed into
// place, so it is never reachable with looser permissions. Closing the listener removes
// the socket.
func Listen(path string) (net.Listener, error) {
	dir := filepath.Dir(path)
	if err := makeDir(dir); err != nil {
		return nil, fmt.Errorf("ctl: control socket directory: %w", err)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("ctl: %s exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("ctl: another daemon is listening on %s", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("ctl: removing stale socket: %w", err)
		}
	}
	var suffix [6]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return nil, err
	}
	tmp := filepath.Join(dir, ".govs-"+hex.EncodeToString(suffix[:])+".sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("ctl: listen: %w", err)
	}
	ln.SetUnlinkOnClose(false)
	if err := os.Chmod(tmp, 0o600); err != nil {
		ln.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("ctl: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		ln.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("ctl: %w", err)
	}
	return &socketListener{UnixListener: ln, path: path}, nil
}

// socketListener removes its socket file on Close.
type socketListener struct {
	*net.UnixListener
	path string
	once sync.Once
}

func (l *socketListener) Close() error {
	err := l.UnixListener.Close()
	l.once.Do(func() { os.Remove(l.path) })
	return err
}

// Serve answers requests on ln until ctx is done, then closes ln and waits for the
// requests in progress.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	log := s.Logger
	if log == nil {
		log = slog.Default()
	}
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			log.Warn("ctl: accept", "err", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conn.Close()
			if err := s.serveConn(conn); err != nil {
				log.Warn("ctl: request", "err", err)
			}
		}()
	}
}

func (s *Server) serveConn(conn net.Conn) error {
	if err := conn.SetDeadline(time.Now().Add(requestTimeout)); err != nil {
		return err
	}
	req, err := readMessage[Request](conn)
	if err != nil {
		resp := Response{Stderr: "govs adm: bad request: " + err.Error() + "\n", Code: 2}
		_ = writeMessage(conn, resp)
		return err
	}
	return writeMessage(conn, s.Do(req))
}

// Do runs one request; the socket server calls it, and so can tests.
func (s *Server) Do(req Request) Response {
	if req.Status {
		return s.status()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.Resolver
	if r == nil {
		r = &adm.SystemResolver{}
	}
	var stdout, stderr bytes.Buffer
	code := adm.Run(adm.Env{
		Prog: Prog, Version: Version, Backend: s.Handler, Resolver: r,
		Stdin: bytes.NewReader(req.Stdin), Stdout: &stdout, Stderr: &stderr,
	}, req.Argv)
	return Response{Stdout: stdout.String(), Stderr: stderr.String(), Code: code}
}

// readMessage decodes one JSON value of at most MaxMessage bytes.
func readMessage[T any](r io.Reader) (T, error) {
	var v T
	data, err := io.ReadAll(io.LimitReader(r, MaxMessage+1))
	if err != nil {
		return v, err
	}
	if len(data) > MaxMessage {
		return v, ErrTooLarge
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return v, fmt.Errorf("decoding: %w", err)
	}
	return v, nil
}

func writeMessage(w io.Writer, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if len(data) > MaxMessage {
		return ErrTooLarge
	}
	_, err = w.Write(data)
	return err
}
