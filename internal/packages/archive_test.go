package packages

import (
	"archive/zip"
	"bytes"
	"errors"
	"io/fs"
	"strings"
	"testing"
)

type entry struct {
	name string
	mode fs.FileMode // 0: regular 0644 (a directory when name ends in "/")
	body string      // file content or symlink target
}

func makeZip(t testing.TB, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		mode := e.mode
		switch {
		case mode == 0 && strings.HasSuffix(e.name, "/"):
			mode = fs.ModeDir | 0o755
		case mode == 0:
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
	return buf.Bytes()
}

func TestCheckArchive(t *testing.T) {
	symlink := fs.ModeSymlink | 0o777
	tests := []struct {
		name    string
		data    []byte
		wantErr bool
	}{
		{"not a zip", []byte("\x7fELF binary"), false},
		{"empty", nil, false},
		{"plain", makeZip(t, []entry{
			{name: "META-INF/"},
			{name: "a.py", body: "print(1)"},
			{name: "pkg/mod/b.py", body: "x"},
			{name: "bin/run", mode: 0o755, body: "#!/bin/sh"},
			{name: "./c.txt", body: "c"},
		}), false},
		{"symlinks inside", makeZip(t, []entry{
			{name: "lib/real.so", body: "so"},
			{name: "lib/link.so", mode: symlink, body: "real.so"},
			{name: "top", mode: symlink, body: "lib/real.so"},
			{name: "self", mode: symlink, body: "."},
		}), false},
		{"dot-dot", makeZip(t, []entry{{name: "../evil", body: "x"}}), true},
		{"dot-dot inside path", makeZip(t, []entry{{name: "a/../../evil", body: "x"}}), true},
		{"dot-dot backslash", makeZip(t, []entry{{name: `..\evil`, body: "x"}}), true},
		{"absolute", makeZip(t, []entry{{name: "/tmp/evil", body: "x"}}), true},
		{"drive letter", makeZip(t, []entry{{name: "C:/evil", body: "x"}}), true},
		{"NUL in name", makeZip(t, []entry{{name: "a\x00b", body: "x"}}), true},
		{"symlink absolute", makeZip(t, []entry{{name: "l", mode: symlink, body: "/etc"}}), true},
		{"symlink dot-dot", makeZip(t, []entry{{name: "l", mode: symlink, body: "../../etc"}}), true},
		{"symlink chain via self", makeZip(t, []entry{
			{name: "y", mode: symlink, body: "."},
			{name: "x", mode: symlink, body: "y/.."}, // lexically "." but really the parent
		}), true},
		{"device", makeZip(t, []entry{{name: "dev", mode: fs.ModeDevice | 0o600}}), true},
		{"zip magic, then garbage", []byte("PK\x03\x04 not really a zip"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckArchive(bytes.NewReader(tt.data), int64(len(tt.data)))
			if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, ErrUnsafeArchive)) {
				t.Errorf("CheckArchive = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}
