package notify

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/govs/govs/internal/notify/smtpwire"
)

// deliver runs keepalived's SMTP conversation for one message: banner 220, HELO 250,
// MAIL 250, RCPT 250 per recipient, DATA 354, the message then 250, QUIT 221. Each step
// has ConnectTimeout, as keepalived's smtp_connect_timeout bounds every read.
func (m *Mailer) deliver(ctx context.Context, msg Message) error {
	d := net.Dialer{Timeout: m.cfg.ConnectTimeout}
	conn, err := d.DialContext(ctx, "tcp", m.cfg.Server)
	if err != nil {
		return err
	}
	defer conn.Close()
	// Abandon the conversation as soon as ctx ends (shutdown), whatever step it is in.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	c := smtpwire.NewConn(conn, m.cfg.ConnectTimeout)
	if _, err := c.Expect(220, "banner"); err != nil {
		return err
	}
	if _, err := c.Cmd(250, "HELO "+smtpwire.Clean(m.cfg.HeloName)); err != nil {
		return err
	}
	if _, err := c.Cmd(250, "MAIL FROM:"+angle(m.cfg.From)); err != nil {
		return err
	}
	for _, to := range m.cfg.To {
		if _, err := c.Cmd(250, "RCPT TO:"+angle(to)); err != nil {
			return err
		}
	}
	if _, err := c.Cmd(354, "DATA"); err != nil {
		return err
	}
	if err := c.Write(m.format(msg, time.Now())); err != nil {
		return err
	}
	if _, err := c.Expect(250, "message body"); err != nil {
		return err
	}
	_, err = c.Cmd(221, "QUIT")
	if err != nil {
		// The message was accepted; a server that hangs up without 221 changes nothing.
		m.logger.Debug("smtp QUIT", "err", err)
	}
	return nil
}

// angle puts an address in <>, keeping an existing "Name <addr>" form's <addr> part, as
// keepalived's mail_cmd and rcpt_cmd do.
func angle(addr string) string {
	addr = smtpwire.Clean(addr)
	if strings.HasSuffix(addr, ">") {
		if i := strings.LastIndexByte(addr, '<'); i >= 0 {
			return addr[i:]
		}
	}
	return "<" + addr + ">"
}

// format renders the DATA section: keepalived's headers (Date, From, Subject, X-Mailer,
// To), the body with dot-stuffing, and the terminating ".".
func (m *Mailer) format(msg Message, now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Date: %s\r\n", now.Format("Mon, 02 Jan 2006 15:04:05 -0700"))
	fmt.Fprintf(&b, "From: %s\r\n", smtpwire.Clean(m.cfg.From))
	fmt.Fprintf(&b, "Subject: %s\r\n", smtpwire.Clean(msg.Subject))
	b.WriteString("X-Mailer: govs\r\n")
	b.WriteString("To:")
	for i, to := range m.cfg.To {
		if i > 0 {
			b.WriteString(",\r\n")
		}
		b.WriteString(" " + smtpwire.Clean(to))
	}
	b.WriteString("\r\n\r\n")
	body := strings.ReplaceAll(strings.ReplaceAll(msg.Body, "\r\n", "\n"), "\r", "\n")
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, ".") {
			b.WriteByte('.') // RFC 5321 §4.5.2 transparency
		}
		b.WriteString(line + "\r\n")
	}
	b.WriteString("\r\n.\r\n")
	return b.String()
}
