package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// Adopter is implemented by launchers whose processes outlive the worker
// (transient systemd scopes). With one, the Manager keeps a record of every
// process it starts under Options.StateDir, leaves the processes running when
// the worker stops, and the next worker takes them over instead of starting
// them again.
type Adopter interface {
	// Adopt returns the process a previous worker started as name
	// (ProcessSpec.Name) with pid, if it still runs as that launcher
	// started it; an error otherwise.
	Adopt(ctx context.Context, name string, pid int) (Process, error)
}

// record is what the worker keeps about one running instance process so
// that its successor can adopt it: enough to reach it (ports), to give it the
// same identity (UUIDs) and to tell whether it still runs what is assigned
// (the assignment itself).
type record struct {
	Key             string    `json:"key"`
	Name            string    `json:"name"`
	PID             int       `json:"pid"`
	GRPCPort        int       `json:"grpcPort"`
	MetricsPort     int       `json:"metricsPort"`
	FunctionID      string    `json:"functionId"`
	FunctionVersion string    `json:"functionVersion"`
	Restarts        int64     `json:"restarts"`
	Started         time.Time `json:"started"`
	// Instance is the assigned pb.Instance, protobuf-encoded.
	Instance []byte `json:"instance"`
}

const recordSuffix = ".json"

// recordPath is where the record of the instance process named name lives.
func (m *Manager) recordPath(name string) string {
	return filepath.Join(m.opts.StateDir, name+recordSuffix)
}

// persists tells whether instances outlive the worker and are recorded.
func (m *Manager) persists() bool { return m.adopter != nil }

// writeRecord records in's running process (atomically: a crash never
// leaves half a record).
func (m *Manager) writeRecord(in *instance, name string, started time.Time) error {
	raw, err := proto.Marshal(in.inst)
	if err != nil {
		return fmt.Errorf("record %s: encode assignment: %w", in.key, err)
	}
	in.mu.Lock()
	rec := record{
		Key: in.key, Name: name, PID: in.pid, GRPCPort: in.grpcPort, MetricsPort: in.metricsPort,
		FunctionID: in.funcID, FunctionVersion: in.funcVersion, Restarts: in.restarts, Started: started,
		Instance: raw,
	}
	in.mu.Unlock()
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return fmt.Errorf("record %s: %w", in.key, err)
	}
	if err := os.MkdirAll(m.opts.StateDir, 0o700); err != nil {
		return fmt.Errorf("record %s: %w", in.key, err)
	}
	path := m.recordPath(name)
	tmp, err := os.CreateTemp(m.opts.StateDir, ".record-*")
	if err != nil {
		return fmt.Errorf("record %s: %w", in.key, err)
	}
	_, werr := tmp.Write(b)
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("record %s in %s: %w", in.key, path, werr)
	}
	return nil
}

// removeRecord forgets the record of the instance process named name.
func (m *Manager) removeRecord(name string, log *slog.Logger) {
	if !m.persists() || name == "" {
		return
	}
	if err := os.Remove(m.recordPath(name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		log.Warn("remove instance record", "path", m.recordPath(name), "err", err)
	}
}

// readRecords loads every record under StateDir; unreadable ones are
// reported and deleted (their processes, if any, cannot be reached safely).
func (m *Manager) readRecords() []record {
	entries, err := os.ReadDir(m.opts.StateDir)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			m.log.Warn("read instance records", "dir", m.opts.StateDir, "err", err)
		}
		return nil
	}
	var out []record
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, recordSuffix) {
			if strings.HasPrefix(name, ".record-") { // a write interrupted by a crash
				os.Remove(filepath.Join(m.opts.StateDir, name))
			}
			continue
		}
		path := filepath.Join(m.opts.StateDir, name)
		rec, err := decodeRecord(path)
		if err != nil {
			m.log.Warn("ignoring unreadable instance record", "path", path, "err", err)
			os.Remove(path)
			continue
		}
		out = append(out, rec)
	}
	return out
}

func decodeRecord(path string) (record, error) {
	var rec record
	b, err := os.ReadFile(path)
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, fmt.Errorf("decode %s: %w", path, err)
	}
	if rec.Key == "" || rec.Name == "" || rec.PID <= 0 || rec.GRPCPort <= 0 || len(rec.Instance) == 0 {
		return rec, fmt.Errorf("decode %s: incomplete record", path)
	}
	if filepath.Base(path) != rec.Name+recordSuffix {
		return rec, fmt.Errorf("decode %s: record names %q", path, rec.Name)
	}
	return rec, nil
}

// Adopt takes over the instance processes a previous worker left running
// (see Adopter), before this worker has joined the cluster: it reconnects
// to them over gRPC and resumes their health checks at once, well inside
// their self-kill window. Which of them stay is decided by the first Apply:
// those still assigned unchanged keep running, the others are stopped.
// It returns how many processes were adopted. Call it before Run.
func (m *Manager) Adopt(ctx context.Context) int {
	if !m.persists() {
		return 0
	}
	base := context.WithoutCancel(ctx)
	adopted := 0
	for _, rec := range m.readRecords() {
		log := m.log.With("instance", rec.Key, "pid", rec.PID)
		inst := &pb.Instance{}
		if err := proto.Unmarshal(rec.Instance, inst); err != nil || instanceKey(inst) != rec.Key {
			log.Warn("ignoring instance record with a bad assignment", "err", err)
			m.removeRecord(rec.Name, log)
			continue
		}
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		proc, err := m.adopter.Adopt(actx, rec.Name, rec.PID)
		cancel()
		if err != nil {
			log.Info("instance from a previous worker is gone, not adopting it", "reason", err)
			m.removeRecord(rec.Name, log)
			continue
		}
		m.mu.Lock()
		if _, dup := m.instances[rec.Key]; dup || m.running {
			m.mu.Unlock()
			log.Warn("not adopting instance: already known")
			continue
		}
		in := &instance{
			key: rec.Key, fqfn: fqfn(inst.GetFunctionMetaData().GetFunctionDetails()), id: inst.GetInstanceId(), inst: inst,
			state: StateStarting, since: time.Now(), restarts: rec.Restarts,
			grpcPort: rec.GRPCPort, metricsPort: rec.MetricsPort, funcID: rec.FunctionID, funcVersion: rec.FunctionVersion,
		}
		sctx, scancel := context.WithCancel(base)
		in.cancel, in.done, in.restart = scancel, make(chan struct{}), make(chan struct{}, 1)
		m.instances[rec.Key] = in
		m.wg.Add(1)
		go m.supervise(sctx, in, nil, proc)
		m.mu.Unlock()
		log.Info("adopted instance process from a previous worker", "unit", rec.Name, "grpc_port", rec.GRPCPort,
			"running_since", rec.Started.Format(time.RFC3339))
		adopted++
	}
	return adopted
}

// resume connects to an adopted process.
func (m *Manager) resume(in *instance, proc Process) (*grpc.ClientConn, error) {
	in.mu.Lock()
	port := in.grpcPort
	in.mu.Unlock()
	conn, err := dialInstance(port)
	if err != nil {
		return nil, fmt.Errorf("resume %s: gRPC client: %w", in.key, err)
	}
	in.mu.Lock()
	in.pid, in.client = proc.Pid(), pb.NewInstanceControlClient(conn)
	in.mu.Unlock()
	return conn, nil
}

// procName is the ProcessSpec.Name of in's process, under which it is recorded.
func (m *Manager) procName(in *instance) string {
	return unitName(in.inst.GetFunctionMetaData().GetFunctionDetails(), in.id)
}
