package threadprio

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// LockMemory is *_no_swap: the whole process is kept in memory (mlockall), pages as
// they are first touched (MCL_ONFAULT, as keepalived) so reserved address space costs
// nothing; off unlocks it.
func LockMemory(on bool) error {
	if !on {
		return unix.Munlockall()
	}
	if err := unix.Mlockall(unix.MCL_CURRENT | unix.MCL_FUTURE | unix.MCL_ONFAULT); err != nil {
		return fmt.Errorf("locking govs in memory (*_no_swap): %w", err)
	}
	return nil
}

// RTTimeLimit is the process's RLIMIT_RTTIME while real-time threads run: at half of
// usec of CPU taken without blocking, the kernel sends a real-time thread's process
// SIGXCPU (a warning), then once a second, as keepalived sets it. keepalived also makes
// usec the hard limit, where the kernel kills the process; govs leaves the hard limit
// alone: a kill would take the data plane with it, the kernel's real-time throttling
// (sched_rt_runtime_us) already bounds a runaway thread, and a lowered hard limit
// could not be raised again without CAP_SYS_RESOURCE. 0 puts back what the process
// started with.
type RTTimeLimit struct {
	orig unix.Rlimit
	read bool
}

// Set applies usec (0: the original limit).
func (l *RTTimeLimit) Set(usec uint64) error {
	if !l.read {
		if err := unix.Getrlimit(unix.RLIMIT_RTTIME, &l.orig); err != nil {
			return fmt.Errorf("reading RLIMIT_RTTIME: %w", err)
		}
		l.read = true
	}
	lim := l.orig
	if usec > 0 {
		lim.Cur = min(max(usec/2, 1), lim.Max)
	}
	if err := unix.Setrlimit(unix.RLIMIT_RTTIME, &lim); err != nil {
		return fmt.Errorf("setting RLIMIT_RTTIME to %d µs (*_rlimit_rttime): %w", usec, err)
	}
	return nil
}
