package smtpwire

import (
	"bufio"
	"errors"
	"strings"
	"testing"
)

func TestReadReply(t *testing.T) {
	tests := []struct {
		in      string
		want    Reply
		wantErr string
	}{
		{in: "220 mail.example ESMTP\r\n", want: Reply{220, "mail.example ESMTP"}},
		{in: "250\r\n", want: Reply{250, ""}},
		{in: "250-a\r\n250-b\r\n250 c\r\n", want: Reply{250, "a\nb\nc"}},
		{in: "221 bye\n", want: Reply{221, "bye"}},
		{in: "250-a\r\n251 b\r\n", wantErr: "line 2: code 251 inside a 250 reply"},
		{in: "25\r\n", wantErr: "line 1: malformed SMTP reply: \"25\" is shorter than a code"},
		{in: "2x0 no\r\n", wantErr: "does not start with a 3-digit code"},
		{in: "099 low\r\n", wantErr: "code 99 out of range"},
		{in: "250x\r\n", wantErr: "want ' ' or '-'"},
		{in: "250-never ends\r\n", wantErr: "EOF"},
		{in: "250 " + strings.Repeat("x", MaxLine) + "\r\n", wantErr: "longer than"},
		{in: strings.Repeat("250-x\r\n", MaxLines+1), wantErr: "more than"},
	}
	for _, tt := range tests {
		got, err := ReadReply(bufio.NewReaderSize(strings.NewReader(tt.in), 16))
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ReadReply(%.40q) err = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ReadReply(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestClean(t *testing.T) {
	if got := Clean("a\r\nRCPT TO:<x>\tb"); got != "a  RCPT TO:<x> b" {
		t.Errorf("Clean = %q", got)
	}
}

func FuzzReadReply(f *testing.F) {
	for _, s := range []string{"220 ok\r\n", "250-a\r\n250 b\r\n", "25", "250-", "999 x\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rep, err := ReadReply(bufio.NewReader(strings.NewReader(s)))
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !strings.Contains(err.Error(), "EOF") {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if rep.Code < 200 || rep.Code > 599 {
			t.Fatalf("code %d accepted", rep.Code)
		}
	})
}
