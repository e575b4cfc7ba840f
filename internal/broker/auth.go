package broker

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// Java plugin class names operators write in functions_worker.yml, and the
// short names pulsar-client-go also accepts.
const (
	pluginToken  = "org.apache.pulsar.client.impl.auth.AuthenticationToken"
	pluginTLS    = "org.apache.pulsar.client.impl.auth.AuthenticationTls"
	pluginBasic  = "org.apache.pulsar.client.impl.auth.AuthenticationBasic"
	pluginOAuth2 = "org.apache.pulsar.client.impl.auth.oauth2.AuthenticationOAuth2"
	pluginNone   = "org.apache.pulsar.client.impl.auth.AuthenticationDisabled"
	pluginSasl   = "org.apache.pulsar.client.impl.auth.AuthenticationSasl"
)

// errSaslClient says why the worker cannot be a Kerberos client itself.
var errSaslClient = fmt.Errorf("authentication plugin %s (Kerberos) is not supported for the worker's own "+
	"connections to brokers: pulsar-client-go v0.19.0 has no SASL/Kerberos authentication "+
	"(apache/pulsar-client-go#424); give the worker credentials of another method the brokers accept "+
	"(%s, %s, %s or %s; a broker may enable several authenticationProviders). "+
	"Serving Kerberos clients on the worker's REST API (authenticationProviders: AuthenticationProviderSasl) is supported",
	pluginSasl, pluginToken, pluginTLS, pluginBasic, pluginOAuth2)

// AuthKind is the authentication method the worker's own clients use.
type AuthKind string

// The methods we can speak to brokers and other workers.
const (
	AuthNone   AuthKind = ""
	AuthToken  AuthKind = "token"
	AuthTLS    AuthKind = "tls"
	AuthBasic  AuthKind = "basic"
	AuthOAuth2 AuthKind = "oauth2"
)

// ClientAuth is a Java-style (plugin, parameters) pair translated into what the
// Go clients need. Java parameter strings are not JSON in general
// ("token:...", "file:///...", "tlsCertFile:...,tlsKeyFile:..."), while
// pulsar-client-go wants JSON, hence this intermediate form.
type ClientAuth struct {
	Kind AuthKind
	// Token is an inline JWT (token auth).
	Token string
	// TokenFile holds the JWT; read on every use, so rotated tokens are picked up.
	TokenFile string
	// CertFile and KeyFile are the client certificate (tls auth).
	CertFile, KeyFile string
	// User and Password are basic-auth credentials.
	User, Password string
	// OAuth2 client-credentials flow settings.
	IssuerURL, Audience, Scope, PrivateKey, ClientID string
}

// ParseClientAuth translates a Java authentication plugin class name (or short
// name) and its parameter string. An unknown or unsupported plugin is an error
// that names it.
func ParseClientAuth(plugin, params string) (ClientAuth, error) {
	params = strings.TrimSpace(params)
	switch strings.TrimSpace(plugin) {
	case "", pluginNone, "none":
		return ClientAuth{Kind: AuthNone}, nil
	case pluginToken, "token":
		return parseToken(params)
	case pluginTLS, "tls":
		return parseTLS(params)
	case pluginBasic, "basic":
		return parseBasic(params)
	case pluginOAuth2, "oauth2":
		return parseOAuth2(params)
	case pluginSasl, "sasl":
		return ClientAuth{}, errSaslClient
	default:
		return ClientAuth{}, fmt.Errorf("authentication plugin %q is not supported; use one of %s, %s, %s, %s",
			plugin, pluginToken, pluginTLS, pluginBasic, pluginOAuth2)
	}
}

func parseToken(p string) (ClientAuth, error) {
	a := ClientAuth{Kind: AuthToken}
	switch {
	case p == "":
		return a, fmt.Errorf("token authentication: parameters are empty; want token:<jwt> or file:///path")
	case strings.HasPrefix(p, "{"):
		var m map[string]string
		if err := json.Unmarshal([]byte(p), &m); err != nil {
			return a, fmt.Errorf("token authentication: parse JSON parameters: %w", err)
		}
		if t := m["token"]; t != "" {
			a.Token = t
		} else if f := m["file"]; f != "" {
			a.TokenFile = strings.TrimPrefix(f, "file://")
		} else {
			return a, fmt.Errorf("token authentication: JSON parameters need \"token\" or \"file\"")
		}
	case strings.HasPrefix(p, "token:"):
		a.Token = strings.TrimPrefix(p, "token:")
	case strings.HasPrefix(p, "file:"):
		a.TokenFile = strings.TrimPrefix(strings.TrimPrefix(p, "file:"), "//")
	case strings.HasPrefix(p, "data:"):
		a.Token = strings.TrimPrefix(p, "data:")
	case strings.HasPrefix(p, "env:"):
		name := strings.TrimPrefix(p, "env:")
		a.Token = os.Getenv(name)
		if a.Token == "" {
			return a, fmt.Errorf("token authentication: environment variable %s is empty", name)
		}
	default:
		a.Token = p // Java takes any other string as the token itself.
	}
	if a.TokenFile != "" {
		if _, err := os.Stat(a.TokenFile); err != nil {
			return a, fmt.Errorf("token authentication: token file: %w", err)
		}
	}
	return a, nil
}

func parseTLS(p string) (ClientAuth, error) {
	a := ClientAuth{Kind: AuthTLS}
	kv, err := paramMap(p)
	if err != nil {
		return a, fmt.Errorf("tls authentication: %w", err)
	}
	a.CertFile, a.KeyFile = trimFile(kv["tlsCertFile"]), trimFile(kv["tlsKeyFile"])
	if a.CertFile == "" || a.KeyFile == "" {
		return a, fmt.Errorf("tls authentication: parameters need tlsCertFile and tlsKeyFile, got %q", p)
	}
	for _, f := range []string{a.CertFile, a.KeyFile} {
		if _, err := os.Stat(f); err != nil {
			return a, fmt.Errorf("tls authentication: %w", err)
		}
	}
	return a, nil
}

func parseBasic(p string) (ClientAuth, error) {
	a := ClientAuth{Kind: AuthBasic}
	kv, err := paramMap(p)
	if err != nil {
		return a, fmt.Errorf("basic authentication: %w", err)
	}
	a.User, a.Password = kv["userId"], kv["password"]
	if a.User == "" {
		a.User = kv["username"]
	}
	if a.User == "" || a.Password == "" {
		return a, fmt.Errorf("basic authentication: parameters need userId and password")
	}
	return a, nil
}

func parseOAuth2(p string) (ClientAuth, error) {
	a := ClientAuth{Kind: AuthOAuth2}
	kv, err := paramMap(p)
	if err != nil {
		return a, fmt.Errorf("oauth2 authentication: %w", err)
	}
	if t := kv["type"]; t != "" && t != "client_credentials" {
		return a, fmt.Errorf("oauth2 authentication: flow type %q is not supported; use client_credentials", t)
	}
	a.IssuerURL, a.Audience, a.Scope, a.PrivateKey, a.ClientID =
		kv["issuerUrl"], kv["audience"], kv["scope"], kv["privateKey"], kv["clientId"]
	if a.IssuerURL == "" || a.PrivateKey == "" {
		return a, fmt.Errorf("oauth2 authentication: parameters need issuerUrl and privateKey")
	}
	return a, nil
}

// paramMap reads either a JSON object or Java's "k1:v1,k2:v2" form (each pair
// split at its first colon).
func paramMap(p string) (map[string]string, error) {
	m := map[string]string{}
	if strings.HasPrefix(p, "{") {
		var raw map[string]any
		if err := json.Unmarshal([]byte(p), &raw); err != nil {
			return nil, fmt.Errorf("parse JSON parameters: %w", err)
		}
		for k, v := range raw {
			m[k] = fmt.Sprint(v)
		}
		return m, nil
	}
	for _, pair := range strings.Split(p, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		k, v, ok := strings.Cut(pair, ":")
		if !ok {
			return nil, fmt.Errorf("parameter %q is not key:value", pair)
		}
		m[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return m, nil
}

func trimFile(s string) string { return strings.TrimPrefix(s, "file://") }

// pulsarParams is the JSON parameter string pulsar-client-go's
// NewAuthentication accepts for this method.
func (a ClientAuth) pulsarParams() (name, params string) {
	enc := func(m map[string]string) string { b, _ := json.Marshal(m); return string(b) }
	switch a.Kind {
	case AuthToken:
		if a.TokenFile != "" {
			return "token", enc(map[string]string{"file": a.TokenFile})
		}
		return "token", enc(map[string]string{"token": a.Token})
	case AuthTLS:
		return "tls", enc(map[string]string{"tlsCertFile": a.CertFile, "tlsKeyFile": a.KeyFile})
	case AuthBasic:
		return "basic", enc(map[string]string{"username": a.User, "password": a.Password})
	case AuthOAuth2:
		m := map[string]string{"type": "client_credentials", "issuerUrl": a.IssuerURL, "privateKey": a.PrivateKey}
		for k, v := range map[string]string{"audience": a.Audience, "scope": a.Scope, "clientId": a.ClientID} {
			if v != "" {
				m[k] = v
			}
		}
		return "oauth2", enc(m)
	}
	return "", "{}"
}
