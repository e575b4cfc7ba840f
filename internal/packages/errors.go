package packages

import (
	"errors"
	"fmt"
	"io"
)

var (
	// ErrTooLarge reports a package or archive above the size limit; the REST
	// layer answers it with a 4xx.
	ErrTooLarge = errors.New("package too large")
	// ErrNotFound reports a package that its storage does not have.
	ErrNotFound = errors.New("package not found")
	// ErrExists reports a package-management package that is already there:
	// Java workers never delete the ones they upload, so re-creating a
	// component of the same name at the same metadata version meets its old
	// package (pulsar-admin packages delete <url> removes it).
	ErrExists = errors.New("package already exists")
	// ErrCorrupt reports a stored package whose bytes do not match its manifest.
	ErrCorrupt = errors.New("package corrupt")
	// ErrDistributedLog reports a package a Java worker stored in DistributedLog.
	ErrDistributedLog = errors.New("package stored by a Java worker in DistributedLog; " +
		"enable functionsWorkerEnablePackageManagement on all workers")
	// ErrUnsafeArchive reports an archive entry that would land outside the
	// destination (absolute path, "..", escaping symlink) or is not a plain
	// file, directory or symlink.
	ErrUnsafeArchive = errors.New("unsafe archive")
)

// limitReader fails with ErrTooLarge once more than limit bytes came through,
// so an oversized upload stops at limit+1 bytes instead of being read whole.
type limitReader struct {
	r     io.Reader
	n     int64
	limit int64 // < 0: no limit
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.limit < 0 {
		n, err := l.r.Read(p)
		l.n += int64(n)
		return n, err
	}
	if l.n > l.limit {
		return 0, tooLarge(l.limit)
	}
	if room := l.limit - l.n + 1; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	if l.n > l.limit {
		return n - int(l.n-l.limit), tooLarge(l.limit)
	}
	return n, err
}

func tooLarge(limit int64) error {
	return fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
}
