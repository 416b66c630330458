package ipvs

import (
	"encoding/binary"
	"errors"
	"syscall"
	"testing"
)

// answer is one NLMSG_ERROR message as the kernel sends it: code 0 acknowledges, a
// negative errno refuses; the request's header follows the code.
func answer(seq uint32, code int32) []byte {
	b := make([]byte, 16+4+16)
	binary.NativeEndian.PutUint32(b[0:], uint32(len(b)))
	binary.NativeEndian.PutUint16(b[4:], syscall.NLMSG_ERROR)
	binary.NativeEndian.PutUint32(b[8:], seq)
	binary.NativeEndian.PutUint32(b[16:], uint32(code))
	return b
}

func concat(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

func TestReadAnswers(t *testing.T) {
	for _, tc := range []struct {
		name     string
		first    uint32
		n        int
		in       []byte
		wantLast bool
		wantErrs map[int]error
		wantErr  bool
	}{
		{name: "last acknowledged", first: 10, n: 3, in: answer(12, 0), wantLast: true},
		{name: "a refusal before the last", first: 10, n: 3, in: answer(11, -int32(syscall.EEXIST)),
			wantErrs: map[int]error{1: syscall.EEXIST}},
		{name: "refusals and the last in one read", first: 10, n: 3,
			in:       concat(answer(10, -int32(syscall.ENOENT)), answer(12, -int32(syscall.ESRCH))),
			wantLast: true, wantErrs: map[int]error{0: syscall.ENOENT, 2: syscall.ESRCH}},
		{name: "sequence numbers wrap", first: ^uint32(0), n: 2, in: answer(0, 0), wantLast: true},
		{name: "an earlier batch's answer is skipped", first: 10, n: 2, in: answer(9, -int32(syscall.EPERM))},
		{name: "a later sequence number is skipped", first: 10, n: 2, in: answer(12, 0)},
		{name: "not an answer", first: 10, n: 1, in: func() []byte {
			b := answer(10, 0)
			binary.NativeEndian.PutUint16(b[4:], syscall.NLMSG_DONE)
			return b
		}()},
		{name: "a truncated header is no answer", first: 10, n: 1, in: answer(10, 0)[:10]},
		{name: "answer without its code", first: 10, n: 1, in: func() []byte {
			b := answer(10, 0)[:18]
			binary.NativeEndian.PutUint32(b[0:], 18)
			return b
		}(), wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := make([]error, tc.n)
			last, err := readAnswers(tc.in, tc.first, errs)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error: %v", err, tc.wantErr)
			}
			if last != tc.wantLast {
				t.Errorf("last = %v, want %v", last, tc.wantLast)
			}
			for i, e := range errs {
				if want := tc.wantErrs[i]; !errors.Is(e, want) || (want == nil) != (e == nil) {
					t.Errorf("errs[%d] = %v, want %v", i, e, want)
				}
			}
		})
	}
}

func FuzzReadAnswers(f *testing.F) {
	f.Add(concat(answer(10, -int32(syscall.EEXIST)), answer(12, 0)), uint32(10), uint8(3))
	f.Add(answer(0, 0), ^uint32(0), uint8(2))
	f.Fuzz(func(t *testing.T, b []byte, first uint32, n uint8) {
		// Any input gives an answer or an error, never a panic; errors only land in range.
		errs := make([]error, int(n)+1)
		_, _ = readAnswers(b, first, errs)
	})
}
