package packages

import (
	"archive/zip"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// maxArchiveEntries bounds the entries of an archive, so that a zip of
// millions of empty files, small enough for any size limit, cannot exhaust
// the inodes of the machine that extracts it.
const maxArchiveEntries = 200_000

// entryPath turns a zip entry name into a clean slash-separated path relative
// to the destination, refusing anything that could leave it.
func entryPath(name string) (string, error) {
	if name == "" || strings.ContainsRune(name, 0) {
		return "", fmt.Errorf("%w: entry name %q", ErrUnsafeArchive, name)
	}
	n := strings.ReplaceAll(name, `\`, "/")
	if strings.HasPrefix(n, "/") || (len(n) >= 2 && n[1] == ':') {
		return "", fmt.Errorf("%w: absolute entry %q", ErrUnsafeArchive, name)
	}
	for _, el := range strings.Split(n, "/") {
		if el == ".." {
			return "", fmt.Errorf("%w: entry %q contains ..", ErrUnsafeArchive, name)
		}
	}
	c := path.Clean(n)
	if c == "." {
		return "", nil
	}
	return c, nil
}

// CheckArchive refuses, with ErrUnsafeArchive, a zip (jar, nar, Python zip)
// that could write outside its directory when an instance runtime extracts
// it (Java's NarUnpacker, Python's zip import): entries that leave their
// directory, special files, symlinks pointing outside. The worker itself
// never extracts packages; it checks them before storing them. Data that is not a zip passes: a Go binary or a
// single Python file has no entries to check. r is read from the start.
func CheckArchive(r io.ReaderAt, size int64) error {
	var magic [4]byte
	if _, err := r.ReadAt(magic[:], 0); err != nil || string(magic[:]) != "PK\x03\x04" {
		return nil
	}
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return fmt.Errorf("%w: not a readable zip: %v", ErrUnsafeArchive, err)
	}
	if len(zr.File) > maxArchiveEntries {
		return fmt.Errorf("%w: %d entries (at most %d)", ErrUnsafeArchive, len(zr.File), maxArchiveEntries)
	}
	for _, f := range zr.File {
		if _, err := entryPath(f.Name); err != nil {
			return err
		}
		mode := f.Mode()
		switch {
		case mode&fs.ModeSymlink != 0:
			rc, err := f.Open()
			if err != nil {
				return fmt.Errorf("%w: symlink %q: %v", ErrUnsafeArchive, f.Name, err)
			}
			target, _ := io.ReadAll(io.LimitReader(rc, 4096))
			rc.Close()
			t := strings.ReplaceAll(string(target), `\`, "/")
			if strings.HasPrefix(t, "/") || slices.Contains(strings.Split(t, "/"), "..") {
				return fmt.Errorf("%w: symlink %q points to %q", ErrUnsafeArchive, f.Name, target)
			}
		case mode.IsDir(), mode.IsRegular():
		default:
			return fmt.Errorf("%w: entry %q is a %v", ErrUnsafeArchive, f.Name, mode.Type())
		}
	}
	return nil
}
