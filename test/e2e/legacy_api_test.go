package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/test/harness"
)

// TestLegacyFunctionsAPI checks over plain HTTP that one of our workers
// serves 4.0.8's v2 functions API (/admin/v2/functions and
// /admin/functions) as Java does, and that restarting an instance that does
// not exist is 400 on v3 and v2.
func TestLegacyFunctionsAPI(t *testing.T) {
	t.Parallel() // own workers, functions namespace and names
	p := harness.RequirePulsar(t)
	w := startCluster(t, p, 1, nil)[0]
	name := harness.UniqueName("legacy")
	py := filepath.Join(p.Home, "examples", "python-examples", "exclamation_function.py")
	cfg := `{"tenant":"public","namespace":"default","name":"` + name + `","py":"` + py + `","runtime":"PYTHON",` +
		`"className":"exclamation_function.ExclamationFunction","inputs":["persistent://public/default/` + name + `-in"],` +
		`"output":"persistent://public/default/` + name + `-out","parallelism":1}`
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("functionConfig", cfg)
	fw, _ := mw.CreateFormFile("data", "exclamation_function.py")
	src, err := os.ReadFile(py)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(src)
	mw.Close()
	item := "/public/default/" + name
	do := func(method, path string, body io.Reader, contentType string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, w.URL()+path, body)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		t.Logf("%s %s: %d %s", method, path, resp.StatusCode, strings.Join(strings.Fields(string(b)), " "))
		return resp.StatusCode, string(b)
	}
	if code, b := do("POST", "/admin/v3/functions"+item, &body, mw.FormDataContentType()); code != 204 {
		t.Fatalf("register: %d %s", code, b)
	}
	t.Cleanup(func() { do("DELETE", "/admin/v3/functions"+item, nil, "") })
	for _, base := range []string{"/admin/v2/functions", "/admin/functions"} {
		var names []string
		harness.Eventually(t, 30*time.Second, "the function listed on "+base, func() error {
			code, b := do("GET", base+"/public/default", nil, "")
			if code != 200 || json.Unmarshal([]byte(b), &names) != nil || !strings.Contains(b, `"`+name+`"`) {
				return &unexpected{code, b}
			}
			return nil
		})
		var details struct {
			Name      string `json:"name"`
			ClassName string `json:"className"`
			Runtime   string `json:"runtime"`
			Sink      struct {
				Topic string `json:"topic"`
			} `json:"sink"`
		}
		code, b := do("GET", base+item, nil, "")
		if code != 200 || json.Unmarshal([]byte(b), &details) != nil || details.Name != name || details.Runtime != "PYTHON" ||
			details.Sink.Topic != "persistent://public/default/"+name+"-out" {
			t.Errorf("get %s: %d %s: want FunctionDetails", base+item, code, b)
		}
		var list struct {
			FunctionStatusList []struct {
				InstanceID string `json:"instanceId"`
				WorkerID   string `json:"workerId"`
			} `json:"functionStatusList"`
		}
		code, b = do("GET", base+item+"/status", nil, "")
		if code != 200 || json.Unmarshal([]byte(b), &list) != nil || len(list.FunctionStatusList) != 1 ||
			list.FunctionStatusList[0].InstanceID != "0" || list.FunctionStatusList[0].WorkerID != w.ID {
			t.Errorf("status %s: %d %s: want a FunctionStatusList", base+item, code, b)
		}
		if code, b := do("GET", base+"/public/default/nope", nil, ""); code != 404 || !strings.Contains(b, "Function nope doesn't exist") {
			t.Errorf("get of a missing function: %d %s", code, b)
		}
	}
	for _, base := range []string{"/admin/v3/functions", "/admin/v2/functions"} {
		for _, id := range []string{"7", "-1"} {
			code, b := do("POST", base+item+"/"+id+"/restart", nil, "application/json")
			if want := `{"reason":"public/default/` + name + `/` + id + ` doesn't exist"}`; code != 400 || strings.TrimSpace(b) != want {
				t.Errorf("restart instance %s on %s: %d %s, want 400 %s", id, base, code, b, want)
			}
		}
	}
	if code, b := do("DELETE", "/admin/v2/functions"+item, nil, ""); code != 200 {
		t.Errorf("v2 delete: %d %s", code, b)
	}
}

type unexpected struct {
	code int
	body string
}

func (u *unexpected) Error() string { return "answered " + http.StatusText(u.code) + ": " + u.body }
