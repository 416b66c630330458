package config

import (
	"fmt"
	"sort"
	"strings"
)

// Pos is where something was written: a file name, a 1-based line and a 1-based column.
// The zero Pos means "not written anywhere" — a default filled in by govs.
type Pos struct {
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	Col  int    `json:"col,omitempty"`
}

// IsValid reports whether the position names a place in a file.
func (p Pos) IsValid() bool { return p.Line > 0 }

// String formats the position as file:line:col, the form compilers and editors use.
func (p Pos) String() string {
	if !p.IsValid() {
		return p.File
	}
	if p.Col > 0 {
		return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
	}
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}

// before orders positions by file name, line and column.
func (p Pos) before(q Pos) bool {
	if p.File != q.File {
		return p.File < q.File
	}
	if p.Line != q.Line {
		return p.Line < q.Line
	}
	return p.Col < q.Col
}

// Severity says whether a diagnostic stops the configuration from being used.
type Severity int

const (
	// Warning is a problem govs works around the way keepalived does: an unknown or
	// misplaced keyword, a deprecated form, a fact about the host (missing interface).
	Warning Severity = iota
	// Error is something the file gets wrong: an invalid value, an undefined reference,
	// unbalanced braces, a missing required value. The configuration is not used.
	Error
)

// String returns "warning" or "error".
func (s Severity) String() string {
	if s == Error {
		return "error"
	}
	return "warning"
}

// MarshalText writes the severity as its name, for the JSON dump.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Diagnostic is one problem found in a configuration.
type Diagnostic struct {
	Severity Severity `json:"severity"`
	Pos      Pos      `json:"pos"`
	Message  string   `json:"message"`
	// KeepalivedPasses marks a warning that keepalived -t would not fail on: a keyword
	// govs reads but does not act on (about govs, not the file), an include that
	// finds nothing where nothing is required.
	KeepalivedPasses bool `json:"keepalived_passes,omitempty"`
	// Include marks an error about a file an include names: missing, unreadable, or a
	// pattern that must match and does not (keepalived -t then exits 6).
	Include bool `json:"include,omitempty"`
}

// String formats the diagnostic like a compiler: "file:line:col: error: message".
func (d Diagnostic) String() string {
	return fmt.Sprintf("%s: %s: %s", d.Pos, d.Severity, d.Message)
}

// Diagnostics is every problem found, sorted by position once parsing ends.
type Diagnostics []Diagnostic

// HasErrors reports whether any diagnostic is an error.
func (ds Diagnostics) HasErrors() bool {
	for _, d := range ds {
		if d.Severity == Error {
			return true
		}
	}
	return false
}

// Errors returns only the errors.
func (ds Diagnostics) Errors() Diagnostics { return ds.filter(Error) }

// Warnings returns only the warnings.
func (ds Diagnostics) Warnings() Diagnostics { return ds.filter(Warning) }

func (ds Diagnostics) filter(s Severity) Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if d.Severity == s {
			out = append(out, d)
		}
	}
	return out
}

// String lists the diagnostics one per line.
func (ds Diagnostics) String() string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(d.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// sortByPos orders diagnostics by position, keeping the order of those at the same place.
func (ds Diagnostics) sortByPos() {
	sort.SliceStable(ds, func(i, j int) bool { return ds[i].Pos.before(ds[j].Pos) })
}

// diagSink collects diagnostics while parsing; it caps their number so a hostile input
// cannot make the list itself unbounded.
type diagSink struct {
	list    Diagnostics
	dropped int
}

// maxDiagnostics caps the diagnostics kept; the rest are counted and summarised.
const maxDiagnostics = 1000

func (s *diagSink) add(sev Severity, p Pos, format string, args ...any) {
	if len(s.list) >= maxDiagnostics {
		s.dropped++
		return
	}
	s.list = append(s.list, Diagnostic{Severity: sev, Pos: p, Message: fmt.Sprintf(format, args...)})
}

// addDiagnostic keeps a diagnostic made elsewhere, within the cap.
func (s *diagSink) addDiagnostic(dg Diagnostic) {
	if len(s.list) >= maxDiagnostics {
		s.dropped++
		return
	}
	s.list = append(s.list, dg)
}

func (s *diagSink) errorf(p Pos, format string, args ...any) { s.add(Error, p, format, args...) }

func (s *diagSink) warnf(p Pos, format string, args ...any) { s.add(Warning, p, format, args...) }

// includeErrorf is an error about an included file (Diagnostic.Include).
func (s *diagSink) includeErrorf(p Pos, format string, args ...any) {
	s.addDiagnostic(Diagnostic{Severity: Error, Pos: p, Message: fmt.Sprintf(format, args...), Include: true})
}

// notice is a warning keepalived -t passes (Diagnostic.KeepalivedPasses).
func (s *diagSink) notice(p Pos, format string, args ...any) {
	s.addDiagnostic(Diagnostic{Severity: Warning, Pos: p, Message: fmt.Sprintf(format, args...), KeepalivedPasses: true})
}

// errorOnLine reports whether an error was reported on p's line: its keyword's value
// was bad, so checks of the (unset) value must not add to it.
func (s *diagSink) errorOnLine(p Pos) bool {
	for _, d := range s.list {
		if d.Severity == Error && d.Pos.Line == p.Line && d.Pos.File == p.File {
			return true
		}
	}
	return false
}
