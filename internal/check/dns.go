package check

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/miekg/dns"
)

// DNSOptions are DNS_CHECK's keywords.
type DNSOptions struct {
	Type string // type: A, NS, CNAME, SOA, MX, TXT, AAAA [SOA]
	Name string // name ["."]
}

// dnsTypes are the query types keepalived's DNS_CHECK accepts.
var dnsTypes = map[string]uint16{
	"A": dns.TypeA, "NS": dns.TypeNS, "CNAME": dns.TypeCNAME, "SOA": dns.TypeSOA,
	"MX": dns.TypeMX, "TXT": dns.TypeTXT, "AAAA": dns.TypeAAAA,
}

// dnsChecker is DNS_CHECK: a UDP query with recursion desired; the server is up when
// it answers the same question with NOERROR and at least one answer record.
type dnsChecker struct {
	qtype uint16
	name  string
}

func init() {
	Register("DNS_CHECK", Kind{New: newDNS, Defaults: func(t *Timers) { t.Retry, t.DelayBeforeRetry = 3, t.DelayLoop }})
}

func newDNS(spec Spec, _ Env) (Checker, error) {
	o, _ := spec.Options.(*DNSOptions)
	if o == nil {
		o = &DNSOptions{}
	}
	c := &dnsChecker{qtype: dns.TypeSOA, name: "."}
	if o.Type != "" {
		t, ok := dnsTypes[strings.ToUpper(o.Type)]
		if !ok {
			return nil, fmt.Errorf("DNS_CHECK: type %q: want A, NS, CNAME, SOA, MX, TXT or AAAA", o.Type)
		}
		c.qtype = t
	}
	if o.Name != "" {
		if _, ok := dns.IsDomainName(o.Name); !ok {
			return nil, fmt.Errorf("DNS_CHECK: name %q is not a domain name", o.Name)
		}
		c.name = dns.Fqdn(o.Name)
	}
	return c, nil
}

func (c *dnsChecker) Check(ctx context.Context, t Target) Result {
	q := new(dns.Msg)
	q.SetQuestion(c.name, c.qtype)
	conn, err := dial(ctx, t, "udp")
	if err != nil {
		return Result{Err: err}
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	dc := &dns.Conn{Conn: conn}
	if err := dc.WriteMsg(q); err != nil {
		return Down("sending query: %w", err)
	}
	for {
		r, err := dc.ReadMsg()
		if err != nil && (isTimeout(err) || errors.Is(ctx.Err(), context.DeadlineExceeded)) {
			// The deadline closes the socket as it ends the read: say what happened.
			return Down("%s %s: no answer within %v", dns.TypeToString[c.qtype], c.name, t.Timeout)
		}
		if err != nil {
			return Down("%s %s: %w", dns.TypeToString[c.qtype], c.name, err)
		}
		if r.Id != q.Id || !r.Response || len(r.Question) != 1 || r.Question[0].Qtype != c.qtype ||
			!strings.EqualFold(r.Question[0].Name, c.name) {
			continue // not the answer to our question: keep waiting until the deadline
		}
		if r.Rcode != dns.RcodeSuccess {
			return Down("%s %s: rcode %s", dns.TypeToString[c.qtype], c.name, dns.RcodeToString[r.Rcode])
		}
		if len(r.Answer) == 0 {
			return Down("%s %s: no answer records", dns.TypeToString[c.qtype], c.name)
		}
		return Up()
	}
}

var _ Checker = (*dnsChecker)(nil)
