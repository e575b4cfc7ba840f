package cluster

import "testing"

// FuzzParseWorkerInfo parses what the coordination topic's consumers call
// themselves (<workerId>:<hostname>:<port>, read from the broker's topic
// stats, where any client may appear): parsed or refused, never a panic, and
// what parses prints back the same.
func FuzzParseWorkerInfo(f *testing.F) {
	for _, s := range []string{"worker-1:127.0.0.1:6750", "a:b:c", "::", "w:h:-1", "w:h:99999999999999999999", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w, err := ParseWorkerInfo(s)
		if err != nil {
			return
		}
		again, err := ParseWorkerInfo(w.String())
		if err != nil || again != w {
			t.Fatalf("ParseWorkerInfo(%q) = %+v, which prints as %q and parses as %+v, %v", s, w, w.String(), again, err)
		}
	})
}
