// Package reload notices when the worker should re-read its config: SIGHUP,
// and edits of the config file however they are made. It only detects; the
// caller loads, validates and applies (internal/config stays free of signals
// and file watching).
package reload

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
)

// DefaultDebounce is how long the Watcher waits after the last file event before
// calling reload, so an editor's burst of writes, renames and chmods is one reload.
const DefaultDebounce = 300 * time.Millisecond

// maxDebounceFactor caps the wait: a file that keeps changing is still reloaded
// within maxDebounceFactor*Debounce of its first change.
const maxDebounceFactor = 10

// shutdownWait bounds how long Run, once its context is done, waits for a
// cancelled reload to return, so that shutdown never hangs on one.
const shutdownWait = 5 * time.Second

// maxSymlinkHops bounds symlink resolution, as the kernel's ELOOP does (40).
const maxSymlinkHops = 40

// Watcher calls a reload function when the config file changes or the process
// gets SIGHUP. It watches directories, not the file, so every way of replacing a
// file is seen: writing in place, writing a temporary file and renaming it over
// (vim, sed -i, most tools), deleting and recreating, and swapping symlinks
// (Kubernetes ConfigMaps: file -> ..data/file, ..data -> ..<timestamp>/). It
// follows the file's symlink chain: it watches the directory holding each link
// and the one holding the final file, and re-resolves the chain on every event
// in them, so a swapped link (of the file, of a directory on its path, or of
// ..data) moves the watches to the new target.
//
// File events are debounced (Debounce after the last one); SIGHUP reloads at
// once. reload runs in its own goroutine, one call at a time, with a context
// that is cancelled when a newer change or SIGHUP supersedes it (the next call
// starts once it returned) or when Run's context is done: a slow reload never
// holds back events, later reloads or shutdown. A file event is dropped with a
// warning, not passed on, when the file does not exist when the debounce ends:
// a deleted config file is not a new configuration, and its reappearance
// triggers the reload. SIGHUP always calls reload.
//
// The Watcher only detects; reload decides what to do (load, validate, Diff,
// apply, keep the old config on errors).
type Watcher struct {
	// Debounce is the quiet period after file events; set it before Run.
	Debounce time.Duration

	path   string // absolute, cleaned, as configured (may go through symlinks)
	reload func(context.Context)
	log    *slog.Logger
	fsw    *fsnotify.Watcher
	sig    chan os.Signal

	chain       chain           // current resolution of path
	unwatchable map[string]bool // chain directories whose watch failed

	// observe, when set (tests), sees every file event and whether it counted.
	observe func(ev fsnotify.Event, counted bool)
}

// chain is the resolution of the config path: names are every path whose change
// concerns the file (each symlink on the way and the final file, all in real
// directories), dirs the real directories to watch for them.
type chain struct {
	names []string
	dirs  []string
}

func (c chain) has(name string) bool { return slices.Contains(c.names, name) }

func (c chain) equal(o chain) bool {
	return slices.Equal(c.names, o.names) && slices.Equal(c.dirs, o.dirs)
}

// NewWatcher starts watching the directory of path (and those of its symlink
// chain) and registers for SIGHUP; from then on SIGHUP no longer terminates the
// process. Events are handled once Run is called; call Close when done. The
// error names the directory that cannot be watched.
func NewWatcher(path string, reload func(context.Context), log *slog.Logger) (*Watcher, error) {
	if log == nil {
		log = slog.Default()
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("watch config %s: %w", path, err)
	}
	dir := filepath.Dir(abs)
	if fi, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("watch config directory %s: %w", dir, err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("watch config directory %s: not a directory", dir)
	}
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch config directory %s: %w", dir, err)
	}
	w := &Watcher{
		Debounce: DefaultDebounce,
		path:     abs,
		reload:   reload,
		log:      log.With("config", abs),
		fsw:      fsw,
		sig:      make(chan os.Signal, 1),

		unwatchable: map[string]bool{},
	}
	w.chain = resolve(abs)
	for _, d := range w.chain.dirs {
		if err := fsw.Add(d); err != nil {
			fsw.Close()
			return nil, fmt.Errorf("watch config directory %s: %w", d, err)
		}
	}
	signal.Notify(w.sig, syscall.SIGHUP)
	w.log.Debug("watching config", "dirs", w.chain.dirs, "names", w.chain.names)
	return w, nil
}

// Watch watches path until ctx is done, calling reload (never concurrently) after
// the file changed or on SIGHUP; reload's context is cancelled when a newer
// change supersedes it. It returns an error naming the directory when the
// directory cannot be watched, or when the watch fails for good; nil once ctx is
// done.
func Watch(ctx context.Context, path string, reload func(context.Context), log *slog.Logger) error {
	w, err := NewWatcher(path, reload, log)
	if err != nil {
		return err
	}
	defer w.Close()
	return w.Run(ctx)
}

// Close stops SIGHUP delivery and file watching. Once no other code listens for
// SIGHUP, it terminates the process again.
func (w *Watcher) Close() error {
	signal.Stop(w.sig)
	return w.fsw.Close()
}

// Run handles events until ctx is done (then it returns nil) or the watch fails.
// Call it once.
func (w *Watcher) Run(ctx context.Context) error {
	debounce := w.Debounce
	if debounce <= 0 {
		debounce = DefaultDebounce
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var (
		pending bool
		first   time.Time // first event of the pending burst
	)
	arm := func() {
		now := time.Now()
		if !pending {
			pending, first = true, now
		}
		wait := debounce
		if limit := first.Add(maxDebounceFactor * debounce); now.Add(wait).After(limit) {
			wait = max(limit.Sub(now), 0)
		}
		timer.Reset(wait)
	}
	disarm := func() {
		pending = false
		timer.Stop()
	}

	// The reload in flight: done is closed when it returns (nil when none runs),
	// again says a newer trigger superseded it and a reload follows.
	var (
		done   chan struct{}
		cancel context.CancelFunc
		again  bool
	)
	start := func() {
		rctx, c := context.WithCancel(ctx)
		d := make(chan struct{})
		done, cancel = d, c
		go func() {
			defer close(d)
			defer c()
			w.reload(rctx)
		}()
	}
	trigger := func() {
		if done == nil {
			start()
			return
		}
		if !again {
			w.log.Info("config changed again: cancelling the reload in progress for a new one")
		}
		cancel()
		again = true
	}
	defer func() {
		if done == nil {
			return
		}
		cancel()
		select {
		case <-done:
		case <-time.After(shutdownWait):
			w.log.Warn("config reload did not stop when cancelled; not waiting for it", "waited", shutdownWait)
		}
	}()

	for {
		select {
		case <-ctx.Done():
			return nil

		case <-done:
			done, cancel = nil, nil
			if again {
				again = false
				start()
			}

		case <-w.sig:
			disarm()
			w.log.Info("SIGHUP: reloading config")
			trigger()

		case ev, ok := <-w.fsw.Events:
			if !ok {
				return fmt.Errorf("watch config %s: watcher closed", w.path)
			}
			counted := w.handle(ev)
			if counted {
				arm()
			}
			if w.observe != nil {
				w.observe(ev, counted)
			}

		case err, ok := <-w.fsw.Errors:
			if !ok {
				return fmt.Errorf("watch config %s: watcher closed", w.path)
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				// Events were lost: the file may have changed.
				w.log.Warn("config watch: events lost; reloading to be safe", "err", err)
				w.refresh()
				arm()
				continue
			}
			w.log.Warn("config watch error", "err", err)

		case <-timer.C:
			pending = false
			if _, err := os.Stat(w.path); errors.Is(err, fs.ErrNotExist) {
				w.log.Warn("config file is missing; keeping the current config until it is back")
				continue
			}
			w.log.Info("config file changed: reloading")
			trigger()
		}
	}
}

// handle re-resolves the chain after an event in a watched directory and reports
// whether the event concerns the config: it names the file or a link on its way,
// or it changed where the chain leads.
func (w *Watcher) handle(ev fsnotify.Event) bool {
	name := filepath.Clean(ev.Name)
	hit := w.chain.has(name)
	changed := w.refresh()
	hit = hit || w.chain.has(name)
	if hit || changed {
		w.log.Debug("config event", "name", ev.Name, "op", ev.Op.String(), "chain_changed", changed)
	}
	return hit || changed
}

// refresh resolves the path again and moves the watches to the directories the
// chain now needs; it reports whether the chain or the watched set changed. A
// watch fsnotify dropped (its directory was deleted or moved) counts as a change
// and is added again when the directory is back.
func (w *Watcher) refresh() bool {
	next := resolve(w.path)
	watched := w.fsw.WatchList()
	changed := !next.equal(w.chain)
	for _, d := range next.dirs {
		if slices.Contains(watched, d) {
			continue
		}
		if err := w.fsw.Add(d); err != nil {
			// The directory went away again, or cannot be watched; the next event in
			// a parent (or SIGHUP) tries again. Failing again is not news.
			if !w.unwatchable[d] {
				w.log.Warn("cannot watch config directory", "dir", d, "err", err)
				changed = true
			}
			w.unwatchable[d] = true
			continue
		}
		delete(w.unwatchable, d)
		changed = true
	}
	for _, d := range watched {
		if !slices.Contains(next.dirs, d) {
			_ = w.fsw.Remove(d)
		}
	}
	if changed {
		w.log.Debug("config chain", "dirs", next.dirs, "names", next.names)
	}
	w.chain = next
	return changed
}

// resolve follows path component by component like the kernel does, recording
// each symlink met (in its real directory) and where it ends. When a component is
// missing, the rest cannot be resolved: the name is kept as written under the
// deepest directory that exists, which is watched for it to appear.
func resolve(path string) chain {
	var c chain
	addDir := func(d string) {
		if !slices.Contains(c.dirs, d) {
			c.dirs = append(c.dirs, d)
		}
	}
	addName := func(n string) {
		if !slices.Contains(c.names, n) {
			c.names = append(c.names, n)
		}
	}

	cur := "/"
	rest := splitPath(path)
	hops := 0
	for len(rest) > 0 {
		part := rest[0]
		rest = rest[1:]
		switch part {
		case ".":
			continue
		case "..":
			cur = filepath.Dir(cur)
			continue
		}
		next := filepath.Join(cur, part)
		fi, err := os.Lstat(next)
		if err != nil {
			// Missing (or unreadable): watch cur for next to appear.
			addName(filepath.Join(append([]string{next}, rest...)...))
			addDir(cur)
			slices.Sort(c.dirs)
			return c
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			addName(next)
			addDir(cur)
			target, err := os.Readlink(next)
			hops++
			if err != nil || hops > maxSymlinkHops {
				// A loop or an unreadable link: stop here; reload will report it.
				slices.Sort(c.dirs)
				return c
			}
			if filepath.IsAbs(target) {
				cur = "/"
			}
			rest = append(splitPath(target), rest...)
			continue
		}
		cur = next
	}
	addName(cur)
	addDir(filepath.Dir(cur))
	slices.Sort(c.dirs)
	return c
}

func splitPath(p string) []string {
	var out []string
	for _, s := range strings.Split(p, string(filepath.Separator)) {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
