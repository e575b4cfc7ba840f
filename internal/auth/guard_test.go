package auth

import (
	"context"
	"net/http"
)

// guard copies internal/api's Guard; importing api here would tie this
// package's tests to the REST layer's build.
type guard interface {
	Authenticate(r *http.Request) (string, error)
	AuthenticateMetrics() bool
	IsSuperUser(ctx context.Context, role string, r *http.Request) (bool, error)
}

var _ guard = (*Authz)(nil)
