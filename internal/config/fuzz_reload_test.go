package config

import (
	"os"
	"strings"
	"testing"
)

// FuzzReloadDiff is what a reload does with an edited file: load it, and if
// it has no errors, compare it with the running config and render every
// change for the log (secrets redacted). No panic, and no secret of the new
// file in a rendered change.
func FuzzReloadDiff(f *testing.F) {
	running, err := os.ReadFile(shippedFile)
	if err != nil {
		f.Fatal(err)
	}
	cur, _, err := LoadBytes("running.yml", running, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(running)
	f.Add([]byte(strings.Replace(string(running), "logLevel: info", "logLevel: debug", 1)))
	f.Add(append(append([]byte{}, running...), "\nproperties: {a: b, c: [1, 2]}\nbrokerClientAuthenticationParameters: hunter2\n"...))
	f.Add(append(append([]byte{}, running...), "\nfunctionRuntimeFactoryConfigs: null\nfunctionInstanceMaxResources: {cpu: 2}\n"...))
	f.Fuzz(func(t *testing.T, data []byte) {
		next, problems, err := LoadBytes("edited.yml", data, nil)
		if err != nil || len(problems.Errors()) > 0 {
			return
		}
		for _, c := range Diff(cur, next) {
			s := c.String()
			if IsSecretKey(c.Key) {
				if v, ok := c.New.(string); ok && len(v) > 3 && strings.Contains(s, v) {
					t.Fatalf("secret %s shows in %q", c.Key, s)
				}
			}
			_, _ = Classify(c.Key)
		}
	})
}
