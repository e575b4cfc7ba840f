package config

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Severity says whether a Problem stops the config from being used.
type Severity int

const (
	// Warning is a finding the worker can run with (unknown key, setting with no effect).
	Warning Severity = iota + 1
	// Error is a finding that makes the config unusable (wrong type, out of range, contradiction).
	Error
)

// String returns "warning" or "error".
func (s Severity) String() string {
	switch s {
	case Warning:
		return "warning"
	case Error:
		return "error"
	}
	return fmt.Sprintf("Severity(%d)", int(s))
}

// EnvironmentFile is the Problem.File of findings about PF_* environment variables.
const EnvironmentFile = "environment"

// Problem is one finding about one key: where it is, how bad it is and what is wrong.
type Problem struct {
	// File is the config file name, or EnvironmentFile for environment variables.
	File string
	// Line is the 1-based line of the key in File; 0 when unknown (absent key, environment).
	Line int
	// Key is the dotted key path in the file, or the variable name for the environment.
	Key string
	// Severity is Warning or Error.
	Severity Severity
	// Message says what is wrong, and where possible how to fix it.
	Message string
}

// String formats the problem as "file:line: key: message" (":line" omitted when 0).
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	if p.Key != "" {
		b.WriteString(": ")
		b.WriteString(p.Key)
	}
	b.WriteString(": ")
	b.WriteString(p.Message)
	return b.String()
}

// Problems are all findings of one load, ordered by file, then line, then key.
type Problems []Problem

// HasErrors reports whether any problem is an Error, i.e. the config must not be used.
func (ps Problems) HasErrors() bool {
	return slices.ContainsFunc(ps, func(p Problem) bool { return p.Severity == Error })
}

// Errors returns only the Error problems.
func (ps Problems) Errors() Problems { return ps.filter(Error) }

func (ps Problems) filter(s Severity) Problems {
	var out Problems
	for _, p := range ps {
		if p.Severity == s {
			out = append(out, p)
		}
	}
	return out
}

// sort orders file findings before environment ones, by line (unknown lines last),
// then key, so output is stable although maps are walked in random order.
func (ps Problems) sort() {
	rank := func(p Problem) int {
		if p.File == EnvironmentFile {
			return 1
		}
		return 0
	}
	line := func(p Problem) int {
		if p.Line == 0 {
			return int(^uint(0) >> 1)
		}
		return p.Line
	}
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return cmp.Or(
			cmp.Compare(rank(a), rank(b)),
			cmp.Compare(line(a), line(b)),
			cmp.Compare(a.Key, b.Key),
			cmp.Compare(a.Message, b.Message),
		)
	})
}

// SyntaxError is returned by Load when the file is not a YAML mapping at all.
type SyntaxError struct {
	// File is the config file name.
	File string
	// Line is the 1-based line the parser stopped at; 0 when it did not say.
	Line int
	// Msg is the parser's complaint.
	Msg string
}

// Error formats the error as "file:line: msg".
func (e *SyntaxError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}
