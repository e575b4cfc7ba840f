package auth

import (
	"crypto/des"
	"math/rand/v2"
	"testing"
)

// Vectors from `openssl passwd -apr1 -salt <salt> <password>` (same output
// as `htpasswd -m`).
func TestAPR1Crypt(t *testing.T) {
	for _, tc := range []struct{ pw, salt, want string }{
		{"password", "saltsalt", "$apr1$saltsalt$yAAkm4libquA.ZWLHbSBq/"},
		{"p@ss:w0rd", "x", "$apr1$x$28zJqnFA/xtD4rroLQohx0"},
		{"", "12345678", "$apr1$12345678$sHuPAw7VA9xjRbJz7zKV7/"},
		{"a-very-long-password-exceeding-sixteen-bytes-for-sure", "abc", "$apr1$abc$f5B0fJGtOTB8miYin4kit."},
	} {
		got, ok := apr1Crypt([]byte(tc.pw), tc.salt)
		if !ok || got != tc.want {
			t.Errorf("apr1Crypt(%q, %q) = %q, %v; want %q", tc.pw, tc.salt, got, ok, tc.want)
		}
	}
	for _, salt := range []string{"", "123456789", "ab-c", "a$b"} {
		if _, ok := apr1Crypt([]byte("x"), salt); ok {
			t.Errorf("apr1Crypt accepted salt %q", salt)
		}
	}
}

// Vectors from perl's crypt(), i.e. glibc/libxcrypt DES crypt.
func TestDESCrypt(t *testing.T) {
	for _, tc := range []struct{ pw, salt, want string }{
		{"password", "ab", "abJnggxhB/yWI"},
		{"test", "./", "./H7.I.sVn7zo"},
		{"longpassword123", "zZ", "zZq3RWy/G71sk"}, // only 8 bytes count
		{"longpass", "zZ", "zZq3RWy/G71sk"},
		{"", "aa", "aaQSqAReePlq6"},
		{"\xc3\xa9t\xc3\xa9", "9y", "9yvWNIlXIwG3g"},
		{"secret", "Ab", "Ab2WWzJsOfyqA"},
	} {
		got, ok := desCrypt([]byte(tc.pw), tc.salt)
		if !ok || got != tc.want {
			t.Errorf("desCrypt(%q, %q) = %q, %v; want %q", tc.pw, tc.salt, got, ok, tc.want)
		}
	}
	for _, salt := range []string{"", "a", "abc", "$1", "a-"} {
		if _, ok := desCrypt([]byte("x"), salt); ok {
			t.Errorf("desCrypt accepted salt %q", salt)
		}
	}
}

// The unsalted bit-level DES must agree with crypto/des, which pins the
// tables.
func TestDESCoreMatchesCryptoDES(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 200; n++ {
		var key, in [8]byte
		for i := range key {
			key[i] = byte(rng.Uint32())
			in[i] = byte(rng.Uint32())
		}
		ref, err := des.NewCipher(key[:])
		if err != nil {
			t.Fatal(err)
		}
		var want [8]byte
		ref.Encrypt(want[:], in[:])

		var bits [64]byte
		for i := range bits {
			bits[i] = in[i/8] >> (7 - i%8) & 1
		}
		out := newDES(key).encrypt(bits)
		var got [8]byte
		for i, b := range out {
			got[i/8] |= b << (7 - i%8)
		}
		if got != want {
			t.Fatalf("key %x block %x: got %x, crypto/des %x", key, in, got, want)
		}
	}
}
