package packages

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/broker"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/config"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func newStore(t *testing.T, o Options, b *broker.Broker) *Store {
	t.Helper()
	if o.DownloadDirectory == "" {
		o.DownloadDirectory = t.TempDir()
	}
	s, err := New(o, b, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func instance(fd *pb.FunctionDetails, path, fileName string, id int32) *pb.Instance {
	return &pb.Instance{
		InstanceId: id,
		FunctionMetaData: &pb.FunctionMetaData{
			FunctionDetails: fd,
			PackageLocation: &pb.PackageLocationMetaData{PackagePath: path, OriginalFileName: fileName},
			Version:         3,
			CreateTime:      1700000000000,
		},
	}
}

func javaFunction() *pb.FunctionDetails {
	return &pb.FunctionDetails{
		Tenant: "public", Namespace: "default", Name: "exclaim",
		ClassName:     "org.apache.pulsar.functions.api.examples.ExclamationFunction",
		Runtime:       pb.FunctionDetails_JAVA,
		ComponentType: pb.FunctionDetails_FUNCTION,
	}
}

func writeNar(t *testing.T, dir, file, yaml string) string {
	t.Helper()
	entries := []entry{{name: "META-INF/MANIFEST.MF", body: "Manifest-Version: 1.0\n"}}
	if yaml != "" {
		entries = append(entries, entry{name: "META-INF/services/pulsar-io.yaml", body: yaml})
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, file)
	if err := os.WriteFile(p, makeZip(t, entries), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOptionsFromConfig(t *testing.T) {
	cfg := config.Default()
	cfg.DownloadDirectory = "/var/lib/pfw/download"
	cfg.PulsarFunctionsNamespace = "public/functions"
	cfg.PulsarWebServiceUrl = "http://broker:8080"
	cfg.NumFunctionPackageReplicas = 2
	cfg.FunctionsWorkerEnablePackageManagement = true
	cfg.AdditionalEnabledFunctionsUrlPatterns = []string{"https://x/.*"}
	o := OptionsFromConfig(cfg)
	if o.DownloadDirectory != cfg.DownloadDirectory || o.FunctionsNamespace != "public/functions" ||
		o.WebServiceURL != "http://broker:8080" || o.Replicas != 2 || !o.PackageManagement ||
		!o.EnableReferencingFunctionsDirectoryFiles || !o.EnableReferencingConnectorDirectoryFiles ||
		o.FunctionsDirectory != "./functions" || o.ConnectorsDirectory != "./connectors" ||
		len(o.AdditionalFunctionsURLPatterns) != 1 {
		t.Fatalf("OptionsFromConfig = %+v", o)
	}
}

func TestBuiltins(t *testing.T) {
	root := t.TempDir()
	conn := filepath.Join(root, "connectors")
	fns := filepath.Join(root, "functions")
	kafka := writeNar(t, conn, "pulsar-io-kafka-4.0.8.nar", `name: kafka
description: Kafka source and sink connector
sourceClass: org.apache.pulsar.io.kafka.KafkaBytesSource
sinkClass: org.apache.pulsar.io.kafka.KafkaBytesSink
sourceConfigClass: org.apache.pulsar.io.kafka.KafkaSourceConfig
`)
	writeNar(t, conn, "broken.nar", "")                               // no service file: skipped
	os.WriteFile(filepath.Join(conn, "junk.nar"), []byte("x"), 0o644) // not a zip: skipped
	writeNar(t, conn, "ignored.jar", "name: jar\nsinkClass: x\n")     // not *.nar
	exclaim := writeNar(t, fns, "exclaim.nar", "name: exclamation\ndescription: adds !\nfunctionClass: org.example.Exclaim\n")
	writeNar(t, fns, "noclass.nar", "name: noclass\n")

	s := newStore(t, Options{ConnectorsDirectory: conn, FunctionsDirectory: fns}, nil)
	c := s.Connectors()
	if len(c) != 1 || c["kafka"].Path != kafka || c["kafka"].Definition.SinkClass != "org.apache.pulsar.io.kafka.KafkaBytesSink" ||
		c["kafka"].Definition.SourceConfigClass != "org.apache.pulsar.io.kafka.KafkaSourceConfig" {
		t.Fatalf("Connectors() = %+v", c)
	}
	f := s.Functions()
	if len(f) != 1 || f["exclamation"].Definition.FunctionClass != "org.example.Exclaim" {
		t.Fatalf("Functions() = %+v", f)
	}

	sink := &pb.FunctionDetails{Tenant: "t", Namespace: "n", Name: "s", ComponentType: pb.FunctionDetails_SINK,
		Sink: &pb.SinkSpec{Builtin: "kafka"}}
	got, err := s.Fetch(context.Background(), instance(sink, "builtin://kafka", "", 0))
	if err != nil || got != kafka {
		t.Fatalf("Fetch(builtin sink) = %q, %v; want %q", got, err, kafka)
	}
	fn := javaFunction()
	fn.Builtin = "exclamation"
	if got, err := s.Fetch(context.Background(), instance(fn, "builtin://exclamation", "", 0)); err != nil || got != exclaim {
		t.Fatalf("Fetch(builtin function) = %q, %v", got, err)
	}
	// The path alone names it, too.
	if got, err := s.Fetch(context.Background(), instance(javaFunction(), "builtin://exclamation", "", 0)); err != nil || got != exclaim {
		t.Fatalf("Fetch(builtin:// path) = %q, %v", got, err)
	}
	if _, err := s.Fetch(context.Background(), instance(sink, "builtin://nope", "", 0)); err != nil {
		t.Fatalf("the sink's builtin field wins over the path, as in Java: %v", err)
	}
	sink.Sink.Builtin = "nope"
	if _, err := s.Fetch(context.Background(), instance(sink, "builtin://nope", "", 0)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown builtin: %v", err)
	}
	// A new archive shows up after a reload.
	writeNar(t, conn, "rabbit.nar", "name: rabbitmq\nsourceClass: x\n")
	if _, err := s.Connector("rabbitmq"); err == nil {
		t.Fatal("rabbitmq known before reload")
	}
	if err := s.ReloadBuiltins(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Connector("rabbitmq"); err != nil {
		t.Fatal(err)
	}
}

func TestFetchFile(t *testing.T) {
	root := t.TempDir()
	fns := filepath.Join(root, "functions")
	os.MkdirAll(fns, 0o755)
	jar := filepath.Join(fns, "my.jar")
	os.WriteFile(jar, []byte("jar"), 0o644)
	outside := filepath.Join(root, "elsewhere.jar")
	os.WriteFile(outside, []byte("jar"), 0o644)
	s := newStore(t, Options{FunctionsDirectory: fns, EnableReferencingFunctionsDirectoryFiles: true}, nil)
	ctx := context.Background()

	if got, err := s.Fetch(ctx, instance(javaFunction(), "file://"+jar, "", 0)); err != nil || got != jar {
		t.Fatalf("Fetch(file in functionsDirectory) = %q, %v", got, err)
	}
	if _, err := s.Fetch(ctx, instance(javaFunction(), "file://"+outside, "", 0)); !errors.Is(err, ErrURLNotAllowed) {
		t.Fatalf("Fetch(file outside) = %v, want ErrURLNotAllowed", err)
	}
	if _, err := s.Fetch(ctx, instance(javaFunction(), "file://"+fns+"/missing.jar", "", 0)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Fetch(missing file) = %v, want ErrNotFound", err)
	}
	rc, err := s.Open(ctx, &pb.PackageLocationMetaData{PackagePath: "file://" + jar})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "jar" {
		t.Fatalf("Open(file) = %q", b)
	}
}

func TestFetchDistributedLog(t *testing.T) {
	s := newStore(t, Options{}, nil)
	_, err := s.Fetch(context.Background(), instance(javaFunction(), "public/default/exclaim/5f0c-uuid-my.jar", "my.jar", 0))
	if !errors.Is(err, ErrDistributedLog) || !strings.Contains(err.Error(), "enable functionsWorkerEnablePackageManagement on all workers") {
		t.Fatalf("Fetch(DistributedLog path) = %v", err)
	}
	if err := s.Delete(context.Background(), &pb.PackageLocationMetaData{PackagePath: "public/default/exclaim/5f0c-uuid-my.jar"}); !errors.Is(err, ErrDistributedLog) {
		t.Fatalf("Delete(DistributedLog path) = %v", err)
	}
	// Forms Java leaves alone on delete.
	for _, p := range []string{"http://x/a.jar", "file:///a.jar", "builtin://kafka", "function://t/n/f@1"} {
		if err := s.Delete(context.Background(), &pb.PackageLocationMetaData{PackagePath: p}); err != nil {
			t.Errorf("Delete(%s) = %v, want no-op", p, err)
		}
	}
}

func TestFetchHTTPCacheAndLinks(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/pkg/exclaim.jar":
			hits.Add(1)
			if r.Header.Get("Authorization") != "" {
				t.Error("a user URL received credentials")
			}
			w.Write(payload)
		case "/redirect":
			http.Redirect(w, r, "http://127.0.0.2:1/elsewhere.jar", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	dl := t.TempDir()
	s := newStore(t, Options{DownloadDirectory: dl, AdditionalFunctionsURLPatterns: []string{`http://127\.0\.0\.1:\d+/.*`}}, nil)
	ctx := context.Background()
	url := srv.URL + "/pkg/exclaim.jar"

	// Parallel instances of one function download once.
	var wg sync.WaitGroup
	paths := make([]string, 4)
	errs := make([]error, 4)
	for i := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			paths[i], errs[i] = s.Fetch(ctx, instance(javaFunction(), url, "", int32(i)))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("instance %d: %v", i, err)
		}
	}
	if n := hits.Load(); n != 1 {
		t.Fatalf("%d downloads for 4 instances, want 1", n)
	}
	want := filepath.Join(dl, "public/default/exclaim/2/examples.jar") // derived from className, as Java does
	if paths[2] != want {
		t.Fatalf("instance 2 path = %s, want %s", paths[2], want)
	}
	var ino uint64
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(b, payload) {
			t.Fatalf("%s: wrong content (%v)", p, err)
		}
		fi, _ := os.Stat(p)
		st := fi.Sys().(*syscall.Stat_t)
		if ino != 0 && st.Ino != ino {
			t.Fatalf("%s is not a hard link of the cached copy", p)
		}
		ino = st.Ino
	}

	// A restart of the same metadata version uses the cache (checked by hash).
	if _, err := s.Fetch(ctx, instance(javaFunction(), url, "", 0)); err != nil || hits.Load() != 1 {
		t.Fatalf("refetch: %v, downloads %d", err, hits.Load())
	}
	// A corrupted cache copy is noticed and fetched again.
	obj := findObjects(t, dl)[0]
	os.Chmod(obj, 0o644)
	os.WriteFile(obj, []byte("tampered"), 0o644) // also changes every link: same inode
	if _, err := s.Fetch(ctx, instance(javaFunction(), url, "", 0)); err != nil || hits.Load() != 2 {
		t.Fatalf("refetch after corruption: %v, downloads %d", err, hits.Load())
	}
	// A new metadata version refetches an http URL (its content may have changed).
	in := instance(javaFunction(), url, "", 0)
	in.FunctionMetaData.Version = 4
	if _, err := s.Fetch(ctx, in); err != nil || hits.Load() != 3 {
		t.Fatalf("fetch at new version: %v, downloads %d", err, hits.Load())
	}

	// Go binaries become executable; originalFileName wins.
	gofn := javaFunction()
	gofn.Runtime = pb.FunctionDetails_GO
	p, err := s.Fetch(ctx, instance(gofn, url, "exclaim-go", 7))
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(p) != "exclaim-go" {
		t.Fatalf("file name %s", p)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm()&0o111 == 0 {
		t.Fatalf("Go package not executable: %v", fi.Mode())
	}

	// Not allowed, missing, redirected elsewhere.
	if _, err := s.Fetch(ctx, instance(javaFunction(), "http://example.com/a.jar", "", 0)); !errors.Is(err, ErrURLNotAllowed) {
		t.Fatalf("disallowed URL: %v", err)
	}
	if _, err := s.Fetch(ctx, instance(javaFunction(), srv.URL+"/missing.jar", "", 0)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
	if _, err := s.Fetch(ctx, instance(javaFunction(), srv.URL+"/redirect", "", 0)); !errors.Is(err, ErrURLNotAllowed) {
		t.Fatalf("redirect out of the allow-list: %v", err)
	}

	// Cleanup removes instance directories; the cache copy goes with the last link.
	for i := range 4 {
		if err := s.Cleanup(instance(javaFunction(), url, "", int32(i))); err != nil {
			t.Fatal(err)
		}
	}
	s.Cleanup(instance(gofn, url, "", 7))
	if _, err := os.Stat(filepath.Join(dl, "public/default/exclaim/0")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("instance dir left: %v", err)
	}
	if objs := findObjects(t, dl); len(objs) != 0 {
		t.Fatalf("cache keeps unused objects: %v", objs)
	}
}

func TestFetchHTTPTooLarge(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(make([]byte, 3<<20))
	}))
	defer srv.Close()
	dl := t.TempDir()
	s := newStore(t, Options{DownloadDirectory: dl, MaxPackageBytes: 1 << 20, AdditionalFunctionsURLPatterns: []string{`.*`}}, nil)
	if _, err := s.Fetch(context.Background(), instance(javaFunction(), srv.URL+"/a.jar", "", 0)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Fetch = %v, want ErrTooLarge", err)
	}
	if tmp, _ := os.ReadDir(filepath.Join(dl, ".cache/tmp")); len(tmp) != 0 {
		t.Fatalf("partial download left: %v", tmp)
	}
}

func findObjects(t *testing.T, dl string) []string {
	t.Helper()
	es, _ := os.ReadDir(filepath.Join(dl, ".cache/objects"))
	var out []string
	for _, e := range es {
		out = append(out, filepath.Join(dl, ".cache/objects", e.Name()))
	}
	return out
}

func TestLimitReader(t *testing.T) {
	for _, tt := range []struct {
		size, limit int64
		tooLarge    bool
	}{{10, 10, false}, {11, 10, true}, {0, 0, false}, {1, 0, true}, {5 << 20, 1 << 20, true}, {5 << 20, -1, false}} {
		src := &countingReader{r: io.LimitReader(zeroReader{}, tt.size)}
		n, err := io.Copy(io.Discard, &limitReader{r: src, limit: tt.limit})
		if tt.tooLarge != errors.Is(err, ErrTooLarge) {
			t.Errorf("size %d limit %d: err %v", tt.size, tt.limit, err)
		}
		if tt.tooLarge && (n > tt.limit || src.n > tt.limit+1) {
			t.Errorf("size %d limit %d: passed %d bytes, read %d; want it to stop at the limit", tt.size, tt.limit, n, src.n)
		}
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// fakePackages is the broker's /admin/v3/packages API, enough to test the
// package-management path without a broker.
type fakePackages struct {
	mu       sync.Mutex
	pkgs     map[string][]byte
	meta     map[string]packageMetadata
	deletes  []string
	corrupt  bool
	received int64
}

func (f *fakePackages) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key, isMeta := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/admin/v3/packages/"), "/metadata")
	switch {
	case r.Method == http.MethodPost:
		_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		if _, ok := f.pkgs[key]; ok {
			w.WriteHeader(http.StatusNotFound) // the broker's answer to "already exists"
			json.NewEncoder(w).Encode(map[string]string{"reason": "Package '" + key + "' metadata already exists"})
			return
		}
		mr := multipart.NewReader(r.Body, params["boundary"])
		var data []byte
		var meta packageMetadata
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			b, _ := io.ReadAll(part)
			f.received += int64(len(b))
			switch part.FormName() {
			case "file":
				data = b
			case "metadata":
				if part.Header.Get("Content-Type") != "application/json" {
					http.Error(w, "metadata part must be JSON", http.StatusUnsupportedMediaType)
					return
				}
				json.Unmarshal(b, &meta)
			}
		}
		f.pkgs[key], f.meta[key] = data, meta
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodGet && isMeta:
		m, ok := f.meta[key]
		if !ok {
			w.WriteHeader(404)
			return
		}
		json.NewEncoder(w).Encode(m)
	case r.Method == http.MethodGet:
		b, ok := f.pkgs[key]
		if !ok {
			w.WriteHeader(404)
			return
		}
		if f.corrupt {
			b = append([]byte("x"), b[1:]...)
		}
		w.Write(b)
	case r.Method == http.MethodDelete:
		f.deletes = append(f.deletes, key)
		delete(f.pkgs, key)
		w.WriteHeader(204)
	}
}

func TestPackageManagementFake(t *testing.T) {
	fake := &fakePackages{pkgs: map[string][]byte{}, meta: map[string]packageMetadata{}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	b := &broker.Broker{HTTP: srv.Client()}
	o := Options{PackageManagement: true, WebServiceURL: srv.URL, MaxPackageBytes: 2 << 20}
	up := newStore(t, o, b)
	down := newStore(t, o, b)
	ctx := context.Background()

	payload := bytes.Repeat([]byte{7}, 1<<20)
	md := instance(javaFunction(), "", "", 0).FunctionMetaData
	loc, err := up.Upload(ctx, md, bytes.NewReader(payload), "/home/me/exclaim.jar")
	if err != nil {
		t.Fatal(err)
	}
	if loc.PackagePath != "function://public/default/exclaim@3" || loc.OriginalFileName != "exclaim.jar" {
		t.Fatalf("location = %v", loc)
	}
	sum := sha256.Sum256(payload)
	meta := fake.meta["function/public/default/exclaim/3"]
	if meta.CreateTime != 1700000000000 || meta.Properties[pkgPropSHA256] != hex.EncodeToString(sum[:]) {
		t.Fatalf("metadata = %+v", meta)
	}
	// Same name and version again: the broker refuses.
	if _, err := up.Upload(ctx, md, bytes.NewReader(payload), "exclaim.jar"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("second upload = %v", err)
	}
	// Sinks and sources get their own package types.
	sink := &pb.FunctionDetails{Tenant: "t", Namespace: "n", Name: "s", ComponentType: pb.FunctionDetails_SINK}
	if loc, err := up.Upload(ctx, &pb.FunctionMetaData{FunctionDetails: sink}, strings.NewReader("x"), "s.nar"); err != nil || loc.PackagePath != "sink://t/n/s@0" {
		t.Fatalf("sink upload = %v, %v", loc, err)
	}

	inst := &pb.Instance{FunctionMetaData: &pb.FunctionMetaData{FunctionDetails: javaFunction(), PackageLocation: loc, Version: 3}}
	p, err := down.Fetch(ctx, inst)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); !bytes.Equal(got, payload) || filepath.Base(p) != "exclaim.jar" {
		t.Fatalf("fetched %s: wrong content", p)
	}
	// A package whose bytes do not match the recorded sha256 is refused.
	fake.corrupt = true
	inst.InstanceId = 1
	if _, err := newStore(t, o, b).Fetch(ctx, inst); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Fetch(corrupt) = %v", err)
	}
	fake.corrupt = false

	// Too large: the upload stops streaming at the limit.
	src := &countingReader{r: zeroReader{}}
	if _, err := up.Upload(ctx, &pb.FunctionMetaData{FunctionDetails: javaFunction(), Version: 9}, src, "big.jar"); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Upload(endless) = %v, want ErrTooLarge", err)
	}
	if src.n > o.MaxPackageBytes+64<<10 {
		t.Fatalf("read %d bytes of an endless upload; limit %d", src.n, o.MaxPackageBytes)
	}
	if _, ok := fake.pkgs["function/public/default/exclaim/9"]; ok {
		t.Fatal("the broker kept a truncated package")
	}

	// Delete removes what a worker uploaded, not a user's package URL.
	if err := up.Delete(ctx, &pb.PackageLocationMetaData{PackagePath: "function://public/default/mine@1"}); err != nil || len(fake.deletes) != 0 {
		t.Fatalf("Delete(user URL) = %v, deletes %v", err, fake.deletes)
	}
	if err := up.Delete(ctx, loc); err != nil || len(fake.deletes) != 1 {
		t.Fatalf("Delete(uploaded) = %v, deletes %v", err, fake.deletes)
	}
	if err := up.Delete(ctx, loc); err != nil {
		t.Fatalf("Delete twice = %v", err)
	}
	if _, err := newStore(t, o, b).Fetch(ctx, inst); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Fetch(deleted) = %v", err)
	}
}

func TestDownloadFileName(t *testing.T) {
	for _, tt := range []struct {
		class    string
		rt       pb.FunctionDetails_Runtime
		original string
		want     string
	}{
		{"org.example.Fn", pb.FunctionDetails_JAVA, "", "example.jar"},
		{"Fn", pb.FunctionDetails_PYTHON, "", "Fn.py"},
		{"exclamation.ExclamationFunction", pb.FunctionDetails_PYTHON, "", "exclamation.py"},
		{"main", pb.FunctionDetails_GO, "", "main.go"},
		{"x.y", pb.FunctionDetails_JAVA, "../../etc/passwd", "passwd"},
		{"x.y", pb.FunctionDetails_JAVA, "a.zip", "a.zip"},
	} {
		got, err := downloadFileName(&pb.FunctionDetails{ClassName: tt.class, Runtime: tt.rt},
			&pb.PackageLocationMetaData{OriginalFileName: tt.original})
		if err != nil || got != tt.want {
			t.Errorf("downloadFileName(%q, %v, %q) = %q, %v; want %q", tt.class, tt.rt, tt.original, got, err, tt.want)
		}
	}
}

func TestUnsafeIdentity(t *testing.T) {
	s := newStore(t, Options{AdditionalFunctionsURLPatterns: []string{".*"}}, nil)
	fd := javaFunction()
	fd.Name = ".."
	if _, err := s.Fetch(context.Background(), instance(fd, "http://127.0.0.1:1/a.jar", "", 0)); err == nil ||
		!strings.Contains(err.Error(), "path element") {
		t.Fatalf("Fetch with name '..' = %v", err)
	}
}

func TestComponentType(t *testing.T) {
	in := map[string]*pb.ConsumerSpec{"in": {}}
	for _, tt := range []struct {
		fd   *pb.FunctionDetails
		want pb.FunctionDetails_ComponentType
	}{
		{&pb.FunctionDetails{ComponentType: pb.FunctionDetails_SINK}, pb.FunctionDetails_SINK},
		{&pb.FunctionDetails{}, pb.FunctionDetails_SOURCE},
		{&pb.FunctionDetails{Source: &pb.SourceSpec{InputSpecs: in}, Sink: &pb.SinkSpec{Builtin: "x"}}, pb.FunctionDetails_SINK},
		{&pb.FunctionDetails{Source: &pb.SourceSpec{InputSpecs: in}}, pb.FunctionDetails_FUNCTION},
		{&pb.FunctionDetails{Source: &pb.SourceSpec{InputSpecs: in}, Sink: &pb.SinkSpec{ClassName: "org.apache.pulsar.functions.sink.PulsarSink"}}, pb.FunctionDetails_FUNCTION},
		{&pb.FunctionDetails{Source: &pb.SourceSpec{InputSpecs: in}, Sink: &pb.SinkSpec{ClassName: "my.Sink"}}, pb.FunctionDetails_SINK},
	} {
		if got := componentType(tt.fd); got != tt.want {
			t.Errorf("componentType(%v) = %v, want %v", tt.fd, got, tt.want)
		}
	}
}

// TestFetchTransform: a sink's transform function package is fetched beside
// the sink's own: from functionsDirectory for builtin://, downloaded into
// its own subdirectory otherwise (both downloads are named after the
// details' className), and "" for a sink without one.
func TestFetchTransform(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "bytes of "+r.URL.Path)
	}))
	defer srv.Close()
	root := t.TempDir()
	fns := filepath.Join(root, "functions")
	exclaim := writeNar(t, fns, "exclaim.nar", "name: exclamation\nfunctionClass: org.example.Exclaim\n")
	dl := filepath.Join(root, "download")
	s := newStore(t, Options{DownloadDirectory: dl, FunctionsDirectory: fns,
		AdditionalFunctionsURLPatterns: []string{`http://127\.0\.0\.1:\d+/fn\.jar`},
		AdditionalConnectorURLPatterns: []string{`http://127\.0\.0\.1:\d+/sink\.nar`}}, nil)
	ctx := context.Background()
	sinkWith := func(builtin, transform string) *pb.Instance {
		fd := &pb.FunctionDetails{Tenant: "public", Namespace: "default", Name: "snk", ComponentType: pb.FunctionDetails_SINK,
			Runtime: pb.FunctionDetails_JAVA, ClassName: "org.apache.pulsar.functions.api.examples.RecordFunction",
			Builtin: builtin, Sink: &pb.SinkSpec{ClassName: "org.example.Sink"}}
		in := instance(fd, srv.URL+"/sink.nar", "", 0)
		if transform != "" {
			in.FunctionMetaData.TransformFunctionPackageLocation = &pb.PackageLocationMetaData{PackagePath: transform}
		}
		return in
	}
	for _, tc := range []struct {
		name, builtin, transform string
		want                     string // the path; "" for none
		wantBytes                string // for a download
	}{
		{name: "none"},
		{name: "built-in function", builtin: "exclamation", transform: "builtin://exclamation", want: exclaim},
		{name: "downloaded", transform: srv.URL + "/fn.jar",
			want: filepath.Join(dl, "public/default/snk/0/transform-function/examples.jar"), wantBytes: "bytes of /fn.jar"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := sinkWith(tc.builtin, tc.transform)
			got, err := s.FetchTransform(ctx, in)
			if err != nil || got != tc.want {
				t.Fatalf("FetchTransform = %q, %v; want %q", got, err, tc.want)
			}
			if tc.wantBytes != "" {
				if b, err := os.ReadFile(got); err != nil || string(b) != tc.wantBytes {
					t.Errorf("%s holds %q, %v", got, b, err)
				}
			}
			sinkPath, err := s.Fetch(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if b, err := os.ReadFile(sinkPath); err != nil || string(b) != "bytes of /sink.nar" {
				t.Errorf("the sink's package %s holds %q, %v", sinkPath, b, err)
			}
		})
	}
}
