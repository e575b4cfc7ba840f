package sasl

import "testing"

func TestParseKerberosName(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    kerberosName
		wantErr bool
	}{
		{in: "a/b@R", want: kerberosName{Service: "a", Host: "b", HasHost: true, Realm: "R", HasRealm: true}},
		{in: "a@R", want: kerberosName{Service: "a", Realm: "R", HasRealm: true}},
		{in: "a@", want: kerberosName{Service: "a", HasRealm: true}},
		{in: "plain", want: kerberosName{Service: "plain"}},
		{in: "a/b/c@R", wantErr: true},
		{in: "a@R@S", wantErr: true},
		{in: "a@R/x", wantErr: true},
	} {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseKerberosName(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("parse = %+v, want an error", got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("parse = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestAllowedIDs(t *testing.T) {
	tests := []struct {
		expr string
		id   string
		want bool
	}{
		// Java's Matcher.matches: the whole id must match.
		{".*pulsar.*", "pulsar-client@PFW.TEST", true},
		{".*pulsar.*", "outsider@PFW.TEST", false},
		{"pulsar", "pulsar-client@PFW.TEST", false},
		{"pulsar-client@PFW\\.TEST", "pulsar-client@PFW.TEST", true},
		{"a|b", "a", true},
		{"a|b", "ab", false},
		{"client@.*|admin@.*", "admin@R", true},
	}
	for _, tt := range tests {
		a, err := compileAllowedIDs(tt.expr)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.allows(tt.id); got != tt.want {
			t.Errorf("%q allows %q = %v, want %v", tt.expr, tt.id, got, tt.want)
		}
	}
	if _, err := compileAllowedIDs("(unclosed"); err == nil {
		t.Error("an invalid expression compiled")
	}
}
