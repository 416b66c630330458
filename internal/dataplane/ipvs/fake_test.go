package ipvs

import (
	"errors"
	"fmt"
	"slices"
	"syscall"

	"github.com/govs/govs/internal/adm"
	"github.com/govs/govs/internal/table"
)

// fakeKernel is an in-memory IPVS that records every request, with the kernel's
// ordering (services in creation order, destinations newest first) and its refusals
// (EEXIST, ESRCH, ENOENT).
type fakeKernel struct {
	svcs     []table.Service
	timeouts table.Timeouts
	daemons  []adm.Daemon
	calls    []string
	failOn   string // a request (its calls[] text prefix) that fails with EPERM
	closed   bool
}

var _ kernel = (*fakeKernel)(nil)

func newFake(svcs ...table.Service) *fakeKernel {
	return &fakeKernel{svcs: svcs, timeouts: table.Timeouts{TCP: 900e9, TCPFin: 120e9, UDP: 300e9}}
}

func (f *fakeKernel) call(format string, a ...any) error {
	c := fmt.Sprintf(format, a...)
	f.calls = append(f.calls, c)
	if f.failOn != "" && len(c) >= len(f.failOn) && c[:len(f.failOn)] == f.failOn {
		return syscall.EPERM
	}
	return nil
}

func (f *fakeKernel) find(k table.ServiceKey) int {
	return slices.IndexFunc(f.svcs, func(s table.Service) bool { return s.ServiceKey == k })
}

func (f *fakeKernel) Services() ([]table.Service, []table.ServiceStats, error) {
	out := make([]table.Service, len(f.svcs))
	var st []table.ServiceStats
	for i, s := range f.svcs {
		s.Dests = slices.Clone(s.Dests)
		out[i] = s
		st = append(st, table.ServiceStats{Key: s.ServiceKey})
	}
	return out, st, nil
}

func (f *fakeKernel) NewService(s table.Service) error {
	if err := f.call("add %s", s.ServiceKey); err != nil {
		return err
	}
	if f.find(s.ServiceKey) >= 0 {
		return syscall.EEXIST
	}
	s.Dests = nil
	f.svcs = append(f.svcs, s)
	return nil
}

func (f *fakeKernel) SetService(s table.Service) error {
	if err := f.call("edit %s", s.ServiceKey); err != nil {
		return err
	}
	i := f.find(s.ServiceKey)
	if i < 0 {
		return syscall.ESRCH
	}
	s.Dests = f.svcs[i].Dests
	f.svcs[i] = s
	return nil
}

func (f *fakeKernel) DelService(k table.ServiceKey) error {
	if err := f.call("delete %s", k); err != nil {
		return err
	}
	i := f.find(k)
	if i < 0 {
		return syscall.ESRCH
	}
	f.svcs = slices.Delete(f.svcs, i, i+1)
	return nil
}

func (f *fakeKernel) dest(s table.Service, d table.Dest) (int, int, error) {
	i := f.find(s.ServiceKey)
	if i < 0 {
		return -1, -1, syscall.ESRCH
	}
	return i, slices.IndexFunc(f.svcs[i].Dests, func(x table.Dest) bool { return x.Addr == d.Addr }), nil
}

func (f *fakeKernel) NewDest(s table.Service, d table.Dest) error {
	if err := f.call("add %s -> %s w%d", s.ServiceKey, d.Addr, d.Weight); err != nil {
		return err
	}
	i, j, err := f.dest(s, d)
	if err != nil {
		return err
	}
	if j >= 0 {
		return syscall.EEXIST
	}
	f.svcs[i].Dests = append([]table.Dest{d}, f.svcs[i].Dests...)
	return nil
}

func (f *fakeKernel) SetDest(s table.Service, d table.Dest) error {
	if err := f.call("edit %s -> %s w%d", s.ServiceKey, d.Addr, d.Weight); err != nil {
		return err
	}
	i, j, err := f.dest(s, d)
	if err != nil {
		return err
	}
	if j < 0 {
		return syscall.ENOENT
	}
	f.svcs[i].Dests[j] = d
	return nil
}

func (f *fakeKernel) DelDest(s table.Service, d table.Dest) error {
	if err := f.call("delete %s -> %s", s.ServiceKey, d.Addr); err != nil {
		return err
	}
	i, j, err := f.dest(s, d)
	if err != nil {
		return err
	}
	if j < 0 {
		return syscall.ENOENT
	}
	f.svcs[i].Dests = slices.Delete(f.svcs[i].Dests, j, j+1)
	return nil
}

func (f *fakeKernel) Change(ops []op) []error {
	errs := make([]error, len(ops))
	for i, o := range ops {
		switch o.kind {
		case opNewService:
			errs[i] = f.NewService(*o.svc)
		case opSetService:
			errs[i] = f.SetService(*o.svc)
		case opDelService:
			errs[i] = f.DelService(o.svc.ServiceKey)
		case opNewDest:
			errs[i] = f.NewDest(*o.svc, o.dest)
		case opSetDest:
			errs[i] = f.SetDest(*o.svc, o.dest)
		case opDelDest:
			errs[i] = f.DelDest(*o.svc, o.dest)
		case opSetTimeouts:
			errs[i] = f.SetTimeouts(o.timeouts)
		}
	}
	return errs
}

func (f *fakeKernel) Timeouts() (table.Timeouts, error) { return f.timeouts, nil }

func (f *fakeKernel) SetTimeouts(t table.Timeouts) error {
	if err := f.call("timeouts %v %v %v", t.TCP, t.TCPFin, t.UDP); err != nil {
		return err
	}
	f.timeouts = mergeTimeouts(f.timeouts, t)
	return nil
}

func (f *fakeKernel) Flush() error {
	if err := f.call("flush"); err != nil {
		return err
	}
	f.svcs = nil
	return nil
}

func (f *fakeKernel) Daemons() ([]adm.Daemon, error) { return slices.Clone(f.daemons), nil }

func (f *fakeKernel) NewDaemon(d adm.Daemon) error {
	if err := f.call("start %s daemon %s syncid %d", d.State, d.Interface, d.SyncID); err != nil {
		return err
	}
	for _, x := range f.daemons {
		if x.State == d.State {
			return syscall.EEXIST
		}
	}
	f.daemons = append(f.daemons, d)
	return nil
}

func (f *fakeKernel) DelDaemon(state adm.DaemonState) error {
	if err := f.call("stop %s daemon", state); err != nil {
		return err
	}
	i := slices.IndexFunc(f.daemons, func(d adm.Daemon) bool { return d.State == state })
	if i < 0 {
		return syscall.ESRCH
	}
	f.daemons = slices.Delete(f.daemons, i, i+1)
	return nil
}

func (f *fakeKernel) Close() error {
	if f.closed {
		return errors.New("closed twice")
	}
	f.closed = true
	return nil
}
