package api

// Stand-ins for F23/F24 so that this branch builds; the state API replaces
// this file.

import "net/http"

const msgStateNotReady = "State storage client is not done initializing. Please try again in a little while."

func (s *Server) queryState(w http.ResponseWriter, r *http.Request) error {
	return fail(http.StatusServiceUnavailable, msgStateNotReady)
}

func (s *Server) putState(w http.ResponseWriter, r *http.Request) error {
	return fail(http.StatusServiceUnavailable, msgStateNotReady)
}
