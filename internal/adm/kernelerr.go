package adm

import "syscall"

// KernelError is a Backend's refusal in the kernel's terms: the errno IPVS would return
// for the operation. ipvsadm prints it with ipvs_strerror, which words some errnos per
// operation ("Service already exists"), and exits 255.
type KernelError struct {
	Op    Op
	Errno syscall.Errno
}

func (e *KernelError) Error() string { return ipvsStrerror(e.Op, e.Errno) }

// Unwrap lets errors.Is match the errno.
func (e *KernelError) Unwrap() error { return e.Errno }

// kernelErr builds a KernelError.
func kernelErr(op Op, errno syscall.Errno) error { return &KernelError{Op: op, Errno: errno} }

// ipvsStrerror is libipvs's ipvs_strerror: a per-operation table, then a generic one,
// then the C library's strerror.
func ipvsStrerror(op Op, errno syscall.Errno) string {
	type key struct {
		op    Op
		errno syscall.Errno
	}
	perOp := map[key]string{
		{OpAddService, syscall.EEXIST}:  "Service already exists",
		{OpAddService, syscall.ENOENT}:  "Scheduler or persistence engine not found",
		{OpEditService, syscall.ESRCH}:  "No such service",
		{OpEditService, syscall.ENOENT}: "Scheduler or persistence engine not found",
		{OpDelService, syscall.ESRCH}:   "No such service",
		{OpZero, syscall.ESRCH}:         "No such service",
		{OpAddDest, syscall.ESRCH}:      "Service not defined",
		{OpAddDest, syscall.EEXIST}:     "Destination already exists",
		{OpEditDest, syscall.ESRCH}:     "Service not defined",
		{OpEditDest, syscall.ENOENT}:    "No such destination",
		{OpDelDest, syscall.ESRCH}:      "Service not defined",
		{OpDelDest, syscall.ENOENT}:     "No such destination",
		{OpStartDaemon, syscall.EEXIST}: "Daemon has already run",
		{OpStopDaemon, syscall.ESRCH}:   "No daemon is running",
		{OpList, syscall.ESRCH}:         "No such service",
	}
	if m, ok := perOp[key{op, errno}]; ok {
		return m
	}
	switch errno {
	case syscall.EPERM:
		return "Permission denied (you must be root)"
	case syscall.EINVAL:
		return "Invalid operation.  Possibly wrong module version, address not unicast, ..."
	case syscall.ENOPROTOOPT:
		return "Protocol not available"
	case syscall.ENOMEM:
		return "Memory allocation problem"
	case syscall.EOPNOTSUPP:
		return "Operation not supported with IPv6"
	case syscall.EAFNOSUPPORT:
		return "Operation not supported with specified address family"
	case syscall.EMSGSIZE:
		return "Module is wrong version"
	}
	return strerror(errno)
}

// strerror is glibc's wording: Go's table is glibc's with a lower-case first letter.
func strerror(errno syscall.Errno) string {
	s := errno.Error()
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		s = string(s[0]-'a'+'A') + s[1:]
	}
	return s
}
