package auth

import (
	"bufio"
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

const confBasicAuthConf = "basicAuthConf"

// basicProvider is AuthenticationProviderBasic: user:hash lines, hashes in
// Apache APR1-MD5 ("$apr1$...") or traditional DES crypt.
type basicProvider struct {
	users map[string]string
}

func newBasicProvider(props map[string]string) (*basicProvider, error) {
	conf := props[confBasicAuthConf]
	if conf == "" {
		// Java falls back to the JVM property pulsar.auth.basic.conf,
		// which a Go worker has no equivalent of.
		return nil, fmt.Errorf("No basic authentication config provided (set %s in properties)", confBasicAuthConf)
	}
	data, err := readData(confBasicAuthConf, conf)
	if err != nil {
		return nil, err
	}
	p := &basicProvider{users: map[string]string{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), len(data)+1)
	sc.Split(scanJavaLines)
	for n := 1; sc.Scan(); n++ {
		parts := javaSplit(sc.Text(), ":")
		if len(parts) != 2 {
			return nil, fmt.Errorf("%s: line %d: The format of the password auth conf file is invalid (want user:hash)", confBasicAuthConf, n)
		}
		p.users[parts[0]] = parts[1]
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", confBasicAuthConf, err)
	}
	return p, nil
}

// scanJavaLines splits like BufferedReader.readLine: "\n", "\r" or "\r\n".
func scanJavaLines(data []byte, atEOF bool) (int, []byte, error) {
	if atEOF && len(data) == 0 {
		return 0, nil, nil
	}
	if i := bytes.IndexAny(data, "\r\n"); i >= 0 {
		if data[i] == '\r' {
			if i+1 < len(data) {
				if data[i+1] == '\n' {
					return i + 2, data[:i], nil
				}
				return i + 1, data[:i], nil
			}
			if !atEOF {
				return 0, nil, nil // need to see whether "\n" follows
			}
		}
		return i + 1, data[:i], nil
	}
	if atEOF {
		return len(data), data, nil
	}
	return 0, nil, nil
}

func (p *basicProvider) method() string { return "basic" }

var errBadBasicCredentials = errors.New("Unknown user or invalid password")

func (p *basicProvider) authenticate(r *http.Request) (string, error) {
	h, _ := firstHeader(r, "Authorization")
	user, pass, err := parseBasicHeader(h)
	if err != nil {
		return "", err
	}
	stored, ok := p.users[user]
	if !ok {
		return "", errBadBasicCredentials
	}
	var got string
	if strings.HasPrefix(stored, "$apr1") {
		parts := javaSplit(stored, "$")
		if len(parts) != 4 {
			return "", errBadBasicCredentials
		}
		if got, ok = apr1Crypt([]byte(pass), parts[2]); !ok {
			return "", errBadBasicCredentials
		}
	} else {
		if len(stored) < 2 {
			return "", errBadBasicCredentials
		}
		if got, ok = desCrypt([]byte(pass), stored[:2]); !ok {
			return "", errBadBasicCredentials
		}
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(stored)) != 1 {
		return "", errBadBasicCredentials
	}
	return user, nil
}

// parseBasicHeader is the provider's AuthParams: "Basic" (any case) as a
// prefix, exactly one separating space, base64 of exactly "user:password".
func parseBasicHeader(h string) (user, pass string, err error) {
	if isBlank(h) || !strings.HasPrefix(strings.ToUpper(h), "BASIC") {
		return "", "", errors.New(`Authentication token has to be started with "Basic "`)
	}
	parts := javaSplit(h, " ")
	if len(parts) != 2 {
		return "", "", errors.New("Base64 encoded token is not found")
	}
	raw, err := decodeJavaBase64(parts[1])
	if err != nil {
		return "", "", fmt.Errorf("Base64 decoding is failure: %w", err)
	}
	creds := javaSplit(string(raw), ":")
	if len(creds) != 2 {
		return "", "", errors.New("Base64 decoded params are invalid")
	}
	return creds[0], creds[1], nil
}
