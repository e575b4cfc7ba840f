package packages

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// maxArchiveEntries bounds the entries of an archive, so a zip of millions of
// empty files cannot exhaust the inodes that the byte limit does not count.
const maxArchiveEntries = 200_000

// Unpack extracts the zip (Python .zip packages, NARs, jars) at zipPath into
// destDir, which it creates and which should be new or empty. It refuses,
// with ErrUnsafeArchive, entries with absolute paths or ".." elements, device
// and other special files, and symlinks that are absolute or contain ".."
// (with no ".." anywhere, no chain of symlinks can climb out of destDir);
// symlinks are created after every file, so nothing is ever written through
// one. maxBytes (<= 0: no limit) bounds the bytes written, counted while
// writing rather than trusted from the headers (ErrTooLarge). On error the
// partly extracted tree is removed if Unpack created destDir.
func Unpack(zipPath, destDir string, maxBytes int64) (err error) {
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		return fmt.Errorf("unpack %s: %w", zipPath, err)
	}
	defer zr.Close()
	if len(zr.File) > maxArchiveEntries {
		return fmt.Errorf("unpack %s: %w: %d entries (at most %d)", zipPath, ErrUnsafeArchive, len(zr.File), maxArchiveEntries)
	}
	dest, err := filepath.Abs(destDir)
	if err != nil {
		return fmt.Errorf("unpack %s: %w", zipPath, err)
	}
	created := false
	if _, serr := os.Lstat(dest); errors.Is(serr, fs.ErrNotExist) {
		created = true
	}
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return fmt.Errorf("unpack %s: %w", zipPath, err)
	}
	defer func() {
		if err != nil && created {
			os.RemoveAll(dest)
		}
	}()
	u := unpacker{dest: dest, limit: maxBytes}
	var links []*zip.File
	for _, f := range zr.File {
		rel, err := entryPath(f.Name)
		if err != nil {
			return fmt.Errorf("unpack %s: %w", zipPath, err)
		}
		if rel == "" {
			continue // the root itself
		}
		mode := f.Mode()
		switch {
		case mode&fs.ModeSymlink != 0:
			links = append(links, f)
		case mode.IsDir():
			if err := u.mkdir(rel); err != nil {
				return fmt.Errorf("unpack %s: %w", zipPath, err)
			}
		case mode.IsRegular():
			if err := u.file(f, rel); err != nil {
				return fmt.Errorf("unpack %s: entry %q: %w", zipPath, f.Name, err)
			}
		default:
			return fmt.Errorf("unpack %s: %w: entry %q is a %v", zipPath, ErrUnsafeArchive, f.Name, mode.Type())
		}
	}
	for _, f := range links {
		rel, _ := entryPath(f.Name)
		if err := u.symlink(f, rel); err != nil {
			return fmt.Errorf("unpack %s: entry %q: %w", zipPath, f.Name, err)
		}
	}
	return nil
}

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

type unpacker struct {
	dest    string
	limit   int64
	written int64
}

// target is the absolute path of rel after checking that no existing element
// on the way is a symlink (only a reused destDir could hold one).
func (u *unpacker) target(rel string) (string, error) {
	cur := u.dest
	els := strings.Split(rel, "/")
	for _, el := range els[:len(els)-1] {
		cur = filepath.Join(cur, el)
		fi, err := os.Lstat(cur)
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink != 0 || !fi.IsDir() {
			return "", fmt.Errorf("%w: %q goes through %s, which is not a directory", ErrUnsafeArchive, rel, cur)
		}
	}
	return filepath.Join(u.dest, filepath.FromSlash(rel)), nil
}

func (u *unpacker) mkdir(rel string) error {
	t, err := u.target(rel + "/x")
	if err != nil {
		return err
	}
	return os.MkdirAll(filepath.Dir(t), 0o755)
}

func (u *unpacker) file(f *zip.File, rel string) error {
	t, err := u.target(rel)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(t), 0o755); err != nil {
		return err
	}
	perm := os.FileMode(0o644)
	if f.Mode()&0o111 != 0 {
		perm = 0o755
	}
	rc, err := f.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	// O_NOFOLLOW: never write through a symlink at the final element either.
	out, err := os.OpenFile(t, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|syscall.O_NOFOLLOW, perm)
	if err != nil {
		return err
	}
	src := &limitReader{r: rc, limit: -1}
	if u.limit > 0 {
		src.limit = u.limit - u.written
	}
	n, err := io.Copy(out, src)
	u.written += n
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, ErrTooLarge) {
		return tooLarge(u.limit)
	}
	return err
}

func (u *unpacker) symlink(f *zip.File, rel string) error {
	rc, err := f.Open()
	if err != nil {
		return err
	}
	b, err := io.ReadAll(io.LimitReader(rc, 4097))
	rc.Close()
	if err != nil {
		return err
	}
	target := string(b)
	if len(b) > 4096 || target == "" || strings.ContainsRune(target, 0) {
		return fmt.Errorf("%w: symlink target of %q", ErrUnsafeArchive, rel)
	}
	t := strings.ReplaceAll(target, `\`, "/")
	if strings.HasPrefix(t, "/") || (len(t) >= 2 && t[1] == ':') {
		return fmt.Errorf("%w: symlink %q points to absolute %q", ErrUnsafeArchive, rel, target)
	}
	for _, el := range strings.Split(t, "/") {
		if el == ".." {
			return fmt.Errorf("%w: symlink %q points to %q, outside its directory", ErrUnsafeArchive, rel, target)
		}
	}
	p, err := u.target(rel)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.Symlink(filepath.FromSlash(t), p)
}

// CheckArchive refuses, with ErrUnsafeArchive, a zip (jar, nar, Python zip)
// that Unpack would refuse: entries that leave their directory, special files,
// symlinks pointing outside. Data that is not a zip passes: a Go binary or a
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
