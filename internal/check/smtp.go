package check

import (
	"context"
	"time"

	"github.com/govs/govs/internal/notify/smtpwire"
)

// SMTPOptions are SMTP_CHECK's keywords.
type SMTPOptions struct {
	HeloName string // helo_name [DefaultSMTPHelo]
}

// DefaultSMTPHelo is keepalived's default helo_name for SMTP_CHECK.
const DefaultSMTPHelo = "smtpchecker.keepalived.org"

// smtpChecker is SMTP_CHECK: the server is up when it greets with 220 and answers HELO
// with 250; the conversation ends with QUIT.
type smtpChecker struct{ helo string }

func init() { Register("SMTP_CHECK", Kind{New: newSMTP}) }

func newSMTP(spec Spec, _ Env) (Checker, error) {
	c := &smtpChecker{helo: DefaultSMTPHelo}
	if o, ok := spec.Options.(*SMTPOptions); ok && o != nil && o.HeloName != "" {
		c.helo = smtpwire.Clean(o.HeloName)
	}
	return c, nil
}

func (c *smtpChecker) Check(ctx context.Context, t Target) Result {
	conn, err := dial(ctx, t, "tcp")
	if err != nil {
		return Result{Err: err}
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	step := t.Timeout
	if dl, ok := ctx.Deadline(); ok {
		step = time.Until(dl)
	}
	sc := smtpwire.NewConn(conn, step)
	if _, err := sc.Expect(220, "banner"); err != nil {
		return Result{Err: err}
	}
	if _, err := sc.Cmd(250, "HELO "+c.helo); err != nil {
		return Result{Err: err}
	}
	// The verdict is in; a server that does not say goodbye properly is still up.
	_, _ = sc.Cmd(221, "QUIT")
	return Up()
}

var _ Checker = (*smtpChecker)(nil)
