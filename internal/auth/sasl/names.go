package sasl

import (
	"fmt"
	"regexp"
	"strings"
)

// kerberosName is a principal split as Pulsar's KerberosName does:
// "service[/host]@REALM", or a bare name without realm.
type kerberosName struct {
	Service  string
	Host     string // "" when absent (Java: null)
	HasHost  bool
	Realm    string
	HasRealm bool
}

// parseKerberosName matches ([^/@]*)(/([^/@]*))?@([^/@]*); a name that does
// not match is an error when it contains '@', and a bare service otherwise.
func parseKerberosName(s string) (kerberosName, error) {
	at := strings.IndexByte(s, '@')
	if at < 0 {
		return kerberosName{Service: s}, nil
	}
	head, realm := s[:at], s[at+1:]
	if strings.ContainsAny(realm, "/@") {
		return kerberosName{}, fmt.Errorf("malformed Kerberos name: %s", s)
	}
	svc, host, hasHost := strings.Cut(head, "/")
	if strings.Contains(host, "/") {
		return kerberosName{}, fmt.Errorf("malformed Kerberos name: %s", s)
	}
	return kerberosName{Service: svc, Host: host, HasHost: hasHost, Realm: realm, HasRealm: true}, nil
}

// allowedIDs is saslJaasClientAllowedIds: a regular expression the whole
// client principal must match (Java's Matcher.matches).
type allowedIDs struct{ re *regexp.Regexp }

func compileAllowedIDs(expr string) (allowedIDs, error) {
	re, err := regexp.Compile(`^(?:` + expr + `)$`)
	if err != nil {
		return allowedIDs{}, fmt.Errorf("saslJaasClientAllowedIds: invalid regular expression %q (RE2 syntax, as Java's for the usual patterns): %w", expr, err)
	}
	return allowedIDs{re: re}, nil
}

func (a allowedIDs) allows(id string) bool { return a.re.MatchString(id) }
