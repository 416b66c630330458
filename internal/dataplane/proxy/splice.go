package proxy

import (
	"golang.org/x/sys/unix"
)

// Bulk transfers are relayed with splice(2) through a pipe: socket → pipe → socket, the
// payload pages handed on by reference instead of copied into the loop's buffer and out
// again. A direction switches to a pipe when a read fills the whole buffer (a transfer,
// not a request) and gives the pipe back once the pipe is empty and the source drained,
// so only directions moving data right now hold one; requests and idle connections
// never do.

// pipeSize is the capacity asked for each pipe (F_SETPIPE_SZ): the most one splice
// moves. The kernel's default is 64 KiB.
const pipeSize = 256 << 10

// maxPipesPerLoop caps the pipes a loop holds at once, busy or pooled. Each costs two
// descriptors from the same limit as the connections; see pipeLimit.
const maxPipesPerLoop = 128

// spliceFlags: move pages instead of copying where the kernel can; never block (the
// sockets are non-blocking too, but the pipe must not block either).
const spliceFlags = unix.SPLICE_F_MOVE | unix.SPLICE_F_NONBLOCK

// pipe is a pipe pair used to splice one direction.
type pipe struct {
	r, w int
}

// pipePool is one loop's pipes: the idle ones for reuse and a count of all it opened.
type pipePool struct {
	idle  []*pipe
	open  int
	limit int
}

// pipeLimit is how many pipes each of n loops may hold: at most maxPipesPerLoop, and
// together at most a sixteenth of the descriptor limit (two descriptors per pipe), so
// pipes never take the descriptors that connections need.
func pipeLimit(n int) int {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	return pipeLimitFor(rl.Cur, n)
}

func pipeLimitFor(nofile uint64, loops int) int {
	if loops < 1 {
		loops = 1
	}
	per := nofile / 32 / uint64(loops)
	if per > maxPipesPerLoop {
		return maxPipesPerLoop
	}
	return int(per)
}

// get returns an empty pipe, or nil when the loop is at its limit or the kernel refuses
// one: the caller then copies through the buffer as before.
func (pp *pipePool) get() *pipe {
	if n := len(pp.idle); n > 0 {
		p := pp.idle[n-1]
		pp.idle = pp.idle[:n-1]
		return p
	}
	if pp.open >= pp.limit {
		return nil
	}
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		return nil
	}
	// A larger pipe means fewer splices per megabyte; the default size still works.
	_, _ = unix.FcntlInt(uintptr(fds[0]), unix.F_SETPIPE_SZ, pipeSize)
	pp.open++
	return &pipe{r: fds[0], w: fds[1]}
}

// put takes back an empty pipe for reuse.
func (pp *pipePool) put(p *pipe) { pp.idle = append(pp.idle, p) }

// discard closes a pipe that may still hold data (its connection was aborted), so no
// stale bytes reach another connection.
func (pp *pipePool) discard(p *pipe) {
	sysClose(p.r)
	sysClose(p.w)
	pp.open--
}

// closeAll closes the idle pipes; busy ones are discarded by their connections.
func (pp *pipePool) closeAll() {
	for _, p := range pp.idle {
		pp.discard(p)
	}
	pp.idle = nil
}

// sysSplice moves up to n bytes from in to out without offsets (sockets and pipes).
func sysSplice(in, out, n int) (int, error) {
	r, _, e := unix.RawSyscall6(unix.SYS_SPLICE, uintptr(in), 0, uintptr(out), 0, uintptr(n), spliceFlags)
	return int(r), errnoErr(e)
}
