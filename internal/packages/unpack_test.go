package packages

import (
	"archive/zip"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type entry struct {
	name string
	mode fs.FileMode // 0: regular 0644
	body string      // file content or symlink target
}

func makeZip(t testing.TB, entries []entry) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		mode := e.mode
		if mode == 0 {
			mode = 0o644
		}
		h.SetMode(mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "a.zip")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestUnpack(t *testing.T) {
	big := strings.Repeat("x", 600)
	tests := []struct {
		name    string
		entries []entry
		limit   int64
		wantErr error
		check   func(t *testing.T, dest string)
	}{
		{name: "plain", entries: []entry{
			{name: "META-INF/"}, // a directory: mode set below
			{name: "a.py", body: "print(1)"},
			{name: "pkg/mod/b.py", body: "x"},
			{name: "bin/run", mode: 0o755, body: "#!/bin/sh"},
			{name: "./c.txt", body: "c"},
		}, check: func(t *testing.T, dest string) {
			mustRead(t, filepath.Join(dest, "a.py"), "print(1)")
			mustRead(t, filepath.Join(dest, "pkg/mod/b.py"), "x")
			mustRead(t, filepath.Join(dest, "c.txt"), "c")
			fi, err := os.Stat(filepath.Join(dest, "bin/run"))
			if err != nil || fi.Mode().Perm()&0o100 == 0 {
				t.Errorf("bin/run not executable: %v %v", fi, err)
			}
		}},
		{name: "symlink inside", entries: []entry{
			{name: "lib/real.so", body: "so"},
			{name: "lib/link.so", mode: fs.ModeSymlink | 0o777, body: "real.so"},
			{name: "top", mode: fs.ModeSymlink | 0o777, body: "lib/real.so"},
			{name: "self", mode: fs.ModeSymlink | 0o777, body: "."},
		}, check: func(t *testing.T, dest string) {
			mustRead(t, filepath.Join(dest, "lib/link.so"), "so")
			mustRead(t, filepath.Join(dest, "top"), "so")
		}},
		{name: "dot-dot", entries: []entry{{name: "../evil", body: "x"}}, wantErr: ErrUnsafeArchive},
		{name: "dot-dot inside path", entries: []entry{{name: "a/../../evil", body: "x"}}, wantErr: ErrUnsafeArchive},
		{name: "dot-dot backslash", entries: []entry{{name: `..\evil`, body: "x"}}, wantErr: ErrUnsafeArchive},
		{name: "absolute", entries: []entry{{name: "/tmp/evil", body: "x"}}, wantErr: ErrUnsafeArchive},
		{name: "drive letter", entries: []entry{{name: "C:/evil", body: "x"}}, wantErr: ErrUnsafeArchive},
		{name: "symlink absolute", entries: []entry{{name: "l", mode: fs.ModeSymlink | 0o777, body: "/etc"}}, wantErr: ErrUnsafeArchive},
		{name: "symlink dot-dot", entries: []entry{{name: "l", mode: fs.ModeSymlink | 0o777, body: "../../etc"}}, wantErr: ErrUnsafeArchive},
		{name: "symlink chain via self", entries: []entry{
			{name: "y", mode: fs.ModeSymlink | 0o777, body: "."},
			{name: "x", mode: fs.ModeSymlink | 0o777, body: "y/.."}, // lexically "." but really the parent
		}, wantErr: ErrUnsafeArchive},
		{name: "write through symlink", entries: []entry{
			{name: "d/", mode: fs.ModeDir | 0o755},
			{name: "l", mode: fs.ModeSymlink | 0o777, body: "d"},
			{name: "l/f", body: "x"},
		}},
		{name: "device", entries: []entry{{name: "dev", mode: fs.ModeDevice | 0o600}}, wantErr: ErrUnsafeArchive},
		{name: "oversized one file", entries: []entry{{name: "a", body: big + big}}, limit: 1000, wantErr: ErrTooLarge},
		{name: "oversized in total", entries: []entry{{name: "a", body: big}, {name: "b", body: big}}, limit: 1000, wantErr: ErrTooLarge},
		{name: "exactly the limit", entries: []entry{{name: "a", body: big}, {name: "b", body: big[:400]}}, limit: 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i, e := range tt.entries {
				if strings.HasSuffix(e.name, "/") && e.mode == 0 {
					tt.entries[i].mode = fs.ModeDir | 0o755
				}
			}
			zp := makeZip(t, tt.entries)
			parent := t.TempDir()
			dest := filepath.Join(parent, "out")
			err := Unpack(zp, dest, tt.limit)
			if tt.name == "write through symlink" {
				// Files go first, so "l" is a directory by the time the
				// symlink comes: refused, and nothing outside parent.
				if err == nil {
					t.Fatal("want an error: l exists as a directory")
				}
				assertOnly(t, parent)
				if err == nil {
					if fi, lerr := os.Lstat(filepath.Join(dest, "l")); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
						t.Fatal("l became a symlink after a file was written below it")
					}
				}
				return
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Unpack = %v, want %v", err, tt.wantErr)
				}
				// Nothing outside dest, and dest (which Unpack created) is gone.
				assertOnly(t, parent)
				return
			}
			if err != nil {
				t.Fatalf("Unpack: %v", err)
			}
			assertOnly(t, parent, "out")
			if tt.check != nil {
				tt.check(t, dest)
			}
		})
	}
}

func TestUnpackNotZip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.zip")
	os.WriteFile(p, []byte("not a zip"), 0o644)
	if err := Unpack(p, filepath.Join(t.TempDir(), "out"), 0); err == nil {
		t.Fatal("want an error for a non-zip")
	}
}

func mustRead(t *testing.T, p, want string) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != want {
		t.Fatalf("%s = %q, want %q", p, b, want)
	}
}

// assertOnly checks that dir holds exactly the named entries.
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Fatalf("%s holds %v, want %v", dir, got, names)
	}
}

func TestCheckArchive(t *testing.T) {
	mk := func(name string) []byte {
		var b bytes.Buffer
		zw := zip.NewWriter(&b)
		w, _ := zw.Create(name)
		_, _ = w.Write([]byte("x"))
		_ = zw.Close()
		return b.Bytes()
	}
	tests := []struct {
		name    string
		data    []byte
		wantErr bool
	}{
		{"not a zip", []byte("\x7fELF binary"), false},
		{"plain entry", mk("pkg/mod.py"), false},
		{"dot-dot", mk("../../escape.py"), true},
		{"absolute", mk("/etc/passwd"), true},
	}
	for _, tt := range tests {
		err := CheckArchive(bytes.NewReader(tt.data), int64(len(tt.data)))
		if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, ErrUnsafeArchive)) {
			t.Errorf("%s: err = %v, wantErr %v", tt.name, err, tt.wantErr)
		}
	}
}
