package e2e

import (
	"archive/zip"
	"bytes"
	"crypto/rand"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/test/harness"
)

// multipartRequest sends parts (name -> content; a name ending in "@file"
// is a file part) to the worker.
func multipartRequest(t *testing.T, method, url string, parts map[string][]byte) (int, string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for name, content := range parts {
		var w io.Writer
		if n, ok := strings.CutSuffix(name, "@file"); ok {
			w, _ = mw.CreateFormFile(n, n+".bin")
		} else {
			w, _ = mw.CreateFormField(name)
		}
		_, _ = w.Write(content)
	}
	_ = mw.Close()
	req, _ := http.NewRequest(method, url, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func evilZip(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, _ := zw.Create("../../escape.py")
	_, _ = w.Write([]byte("print('x')\n"))
	_ = zw.Close()
	return b.Bytes()
}

func TestBadRequestsStoreNothing(t *testing.T) {
	t.Parallel() // Go functions only: runs beside the others after the Java-heavy tests
	p := harness.RequirePulsar(t)
	ws := startCluster(t, p, 1, map[string]any{"maxPackageSizeBytes": 1 << 20})
	w := ws[0]
	base := w.URL() + "/admin/v3/functions/public/default/"
	goConfig := func(name string) []byte {
		b, _ := json.Marshal(map[string]any{"tenant": "public", "namespace": "default", "name": name,
			"runtime": "GO", "inputs": []string{"persistent://public/default/" + name + "-in"}, "output": "persistent://public/default/" + name + "-out"})
		return b
	}
	big := make([]byte, 2<<20)
	_, _ = rand.Read(big)
	pyZip := func(name string) []byte {
		b, _ := json.Marshal(map[string]any{"tenant": "public", "namespace": "default", "name": name, "runtime": "PYTHON",
			"className": "escape", "inputs": []string{"persistent://public/default/" + name + "-in"}})
		return b
	}
	tests := []struct {
		name       string
		method     string
		path       string
		parts      map[string][]byte
		wantCode   int
		wantReason string
	}{
		{"missing functionConfig", "POST", "f1", map[string][]byte{"data@file": []byte("x")}, 400, "Function config is not provided"},
		{"invalid JSON", "POST", "f2", map[string][]byte{"functionConfig": []byte("{not json"), "data@file": []byte("x")}, 400, ""},
		{"unknown tenant", "POST", "f3", map[string][]byte{"functionConfig": goConfig("f3"), "data@file": []byte("x")}, 400, "Tenant does not exist"},
		{"package over the limit", "POST", "f4", map[string][]byte{"functionConfig": goConfig("f4"), "data@file": big}, 413, ""},
		{"archive with ../ paths", "POST", "f5", map[string][]byte{"functionConfig": pyZip("f5"), "data@file": evilZip(t)}, 400, ""},
		{"update of an unknown function", "PUT", "f6", map[string][]byte{"functionConfig": goConfig("f6")}, 400, "Function f6 doesn't exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := base + tt.path
			if tt.name == "unknown tenant" {
				url = w.URL() + "/admin/v3/functions/no-such-tenant/default/" + tt.path
			}
			code, body := multipartRequest(t, tt.method, url, tt.parts)
			var e struct{ Reason string }
			if code != tt.wantCode || json.Unmarshal([]byte(body), &e) != nil || e.Reason == "" ||
				!strings.Contains(e.Reason, tt.wantReason) {
				t.Errorf("%s %s: %d %s; want %d with a reason containing %q", tt.method, tt.path, code, body, tt.wantCode, tt.wantReason)
			}
		})
	}
	// Unknown function: 404 for get, delete and status.
	for _, m := range []string{"GET", "DELETE"} {
		code, body := harness.Do(t, m, base+"nope", nil)
		if code != 404 || !strings.Contains(body2reason(body), "Function nope doesn't exist") {
			t.Errorf("%s unknown function: %d %s", m, code, body)
		}
	}
	if code, body := harness.Do(t, "GET", w.URL()+"/admin/v3/functions/public/default/ba%20d", nil); code/100 != 4 {
		t.Errorf("GET a bad name: %d %s", code, body)
	}

	// Nothing was stored: no function, no package left in the functions namespace.
	code, body := harness.Do(t, "GET", w.URL()+"/admin/v3/functions/public/default", nil)
	if code != 200 || strings.TrimSpace(string(body)) != "[]" {
		t.Errorf("functions in public/default after bad requests: %d %s", code, body)
	}
	code, topics := p.Admin(t, "GET", "/admin/v2/namespaces/"+functionsNamespace(t, w)+"/topics", nil)
	if code != 200 || strings.Contains(string(topics), "package-") {
		t.Errorf("package topics left in the functions namespace: %d %s", code, topics)
	}
}

func body2reason(b []byte) string {
	var e struct{ Reason string }
	_ = json.Unmarshal(b, &e)
	return e.Reason
}
