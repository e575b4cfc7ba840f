package sasl

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSignerRoundTrip(t *testing.T) {
	s, err := newSigner([]byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	text := roleToken{Role: "client/null@PFW.TEST", Session: "7", Expires: 1700000000000}.String()
	signed := s.sign(text)
	// SHA-512 over text||secret, standard base64 with padding: 88 characters.
	if want := text + "&s="; !strings.HasPrefix(signed, want) || len(signed) != len(want)+88 {
		t.Fatalf("signed = %q", signed)
	}
	got, err := s.verify(signed)
	if err != nil || got != text {
		t.Fatalf("verify = %q, %v; want %q", got, err, text)
	}
	other, _ := newSigner([]byte("other secret"))
	tests := []struct{ name, signed string }{
		{"no signature", text},
		{"other secret", other.sign(text)},
		{"text changed", strings.Replace(signed, "client", "admin", 1)},
		{"signature cut", signed[:len(signed)-1]},
		{"empty", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := s.verify(tt.signed); err == nil {
				t.Fatalf("verify(%q) = %q, want an error", tt.signed, got)
			}
		})
	}
}

func TestSignerRejectsEmptySecret(t *testing.T) {
	if _, err := newSigner(nil); err == nil {
		t.Fatal("newSigner(nil) succeeded")
	}
}

func TestParseRoleToken(t *testing.T) {
	tests := []struct {
		in      string
		want    roleToken
		wantErr bool
	}{
		{in: "u=a/null@R&i=12&e=99", want: roleToken{"a/null@R", "12", 99}},
		{in: "e=-1&i=s&u=x", want: roleToken{"x", "s", -1}},
		{in: "u=&i=s&e=1", want: roleToken{"", "s", 1}},
		{in: "u=a=b&i=s&e=1", want: roleToken{"a=b", "s", 1}},
		{in: "&&u=a&&i=s&e=1&", want: roleToken{"a", "s", 1}},
		{in: "u=a&i=s&e=1&u=b", want: roleToken{"b", "s", 1}},
		{in: "u=a&i=s&e=+5", want: roleToken{"a", "s", 5}},
		{in: "u=a&i=s", wantErr: true},
		{in: "u=a&i=s&e=1&x=2", wantErr: true},
		{in: "u=a&i=&e=1", wantErr: true},
		{in: "u=a&i=s&e=1.5", wantErr: true},
		{in: "u=a&i=s&e=", wantErr: true},
		{in: "u=a&i=s&e=99999999999999999999", wantErr: true},
		{in: "u=a&is&e=1", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseRoleToken(tt.in)
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

func TestRoleTokenExpiry(t *testing.T) {
	now := time.UnixMilli(1000)
	for _, tt := range []struct {
		expires int64
		want    bool
	}{{-1, false}, {1000, false}, {999, true}, {0, true}} {
		if got := (roleToken{Expires: tt.expires}).expired(now); got != tt.want {
			t.Errorf("expires %d at 1000: expired = %v, want %v", tt.expires, got, tt.want)
		}
	}
}

func TestReadSecret(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "secret")
	if err := os.WriteFile(f, []byte("s3"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, v, wantErr string
	}{
		{"path", f, ""},
		{"file URL", "file://" + f, ""},
		{"file URL without slashes", "file:" + f, ""},
		{"file URL of localhost", "file://localhost" + f, ""},
		{"empty setting", " ", "is empty"},
		{"missing path", filepath.Join(dir, "nope"), "doesn't exist"},
		{"missing file URL", "file://" + filepath.Join(dir, "nope"), "no such file"},
		{"remote host", "file://example.com/x", "remote host"},
		{"empty file", empty, "is empty"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := readSecret("key", tt.v)
			if tt.wantErr == "" {
				if err != nil || string(b) != "s3" {
					t.Fatalf("readSecret = %q, %v", b, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
