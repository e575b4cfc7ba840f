package packages

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/admin"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/broker"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/config"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// DefaultMaxPackageBytes is the package size limit when none is configured.
// Java has none (only Jetty's multipart handling); 500 MiB keeps one upload
// from filling a worker's disk.
const DefaultMaxPackageBytes int64 = 500 << 20

// Options configures a Store; OptionsFromConfig fills it from functions_worker.yml.
type Options struct {
	DownloadDirectory   string // downloadDirectory
	FunctionsDirectory  string // functionsDirectory
	ConnectorsDirectory string // connectorsDirectory

	EnableReferencingFunctionsDirectoryFiles bool     // enableReferencingFunctionsDirectoryFiles
	EnableReferencingConnectorDirectoryFiles bool     // enableReferencingConnectorDirectoryFiles
	AdditionalFunctionsURLPatterns           []string // additionalEnabledFunctionsUrlPatterns
	AdditionalConnectorURLPatterns           []string // additionalEnabledConnectorUrlPatterns

	// PackageManagement stores uploads in the broker's packages service
	// (functionsWorkerEnablePackageManagement) instead of package topics.
	PackageManagement bool
	// FunctionsNamespace (pulsarFunctionsNamespace) holds the package topics.
	FunctionsNamespace string
	// WebServiceURL (pulsarWebServiceUrl) serves the packages REST API.
	WebServiceURL string
	// Replicas (numFunctionPackageReplicas) is the ensemble, write and ack
	// quorum of package topics; 0 or less leaves the namespace's persistence.
	Replicas int
	// MaxPackageBytes bounds uploads and downloads; 0 means
	// DefaultMaxPackageBytes, negative means no limit.
	MaxPackageBytes int64
}

// OptionsFromConfig maps functions_worker.yml keys onto Options.
func OptionsFromConfig(cfg *config.Config) Options {
	return Options{
		DownloadDirectory:                        cfg.DownloadDirectory,
		FunctionsDirectory:                       cfg.FunctionsDirectory,
		ConnectorsDirectory:                      cfg.ConnectorsDirectory,
		EnableReferencingFunctionsDirectoryFiles: cfg.EnableReferencingFunctionsDirectoryFiles,
		EnableReferencingConnectorDirectoryFiles: cfg.EnableReferencingConnectorDirectoryFiles,
		AdditionalFunctionsURLPatterns:           cfg.AdditionalEnabledFunctionsUrlPatterns,
		AdditionalConnectorURLPatterns:           cfg.AdditionalEnabledConnectorUrlPatterns,
		PackageManagement:                        cfg.FunctionsWorkerEnablePackageManagement,
		FunctionsNamespace:                       cfg.PulsarFunctionsNamespace,
		WebServiceURL:                            cfg.PulsarWebServiceUrl,
		Replicas:                                 cfg.NumFunctionPackageReplicas,
		MaxPackageBytes:                          maxBytes(cfg.MaxPackageSizeBytes),
	}
}

// maxBytes maps maxPackageSizeBytes (0: no limit) to MaxPackageBytes.
func maxBytes(n int64) int64 {
	if n <= 0 {
		return -1
	}
	return n
}

// Store uploads, fetches, opens and deletes function packages.
type Store struct {
	opts        Options
	log         *slog.Logger
	policy      *urlPolicy
	builtins    *builtins
	downloadDir string
	maxBytes    int64 // < 0: none

	client     pulsar.Client // nil without a broker
	admin      admin.Client
	brokerHTTP *http.Client      // the broker's credentials, no overall timeout: packages are large
	userHTTP   http.RoundTripper // no credentials: user URLs must not see the worker's token

	cache *cache

	// skipBookieCheck lets tests reach the persistence fallback that the
	// bookie count check would otherwise avoid.
	skipBookieCheck bool
}

// New builds a Store. b may be nil for a worker that only reads local forms
// (builtin://, file:, http(s)://); the Pulsar-backed forms then fail.
// It fails on a URL pattern that does not compile, as Java fails to start.
func New(opts Options, b *broker.Broker, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.Default()
	}
	policy, err := newURLPolicy(opts)
	if err != nil {
		return nil, err
	}
	dl := opts.DownloadDirectory
	if dl == "" {
		dl = "download/pulsar_functions" // the shipped yml's value
	}
	if dl, err = filepath.Abs(dl); err != nil {
		return nil, fmt.Errorf("downloadDirectory: %w", err)
	}
	s := &Store{
		opts:        opts,
		log:         log,
		policy:      policy,
		builtins:    &builtins{connectorsDir: opts.ConnectorsDirectory, functionsDir: opts.FunctionsDirectory, log: log},
		downloadDir: dl,
		maxBytes:    opts.MaxPackageBytes,
		userHTTP:    http.DefaultTransport,
		cache:       &cache{dir: filepath.Join(dl, ".cache"), flights: map[string]*flight{}},
	}
	if s.maxBytes == 0 {
		s.maxBytes = DefaultMaxPackageBytes
	}
	if b != nil {
		s.client, s.admin = b.Client, b.Admin
		tr := http.DefaultTransport
		if b.HTTP != nil && b.HTTP.Transport != nil {
			tr = b.HTTP.Transport
		}
		s.brokerHTTP = &http.Client{Transport: tr}
	}
	return s, nil
}

// CheckURL tells whether a user-supplied package URL may be used for a
// component of type ct, as Java's register/update do: http(s) and file URLs
// must pass the URL policy, package-management URLs must parse, anything
// else is refused.
func (s *Store) CheckURL(ct pb.FunctionDetails_ComponentType, raw string) error {
	p, err := ParsePath(raw)
	if err != nil {
		return err
	}
	switch p.Kind {
	case KindHTTP, KindFile:
		return s.policy.Check(ct, raw)
	case KindPackage:
		return nil
	}
	return fmt.Errorf("%w: %q: supported url (http/https/file, function://, sink://, source://)", ErrURLNotAllowed, raw)
}

// Upload stores a package for the component described by md (tenant,
// namespace, name, component type from its FunctionDetails; version and
// createTime from md) and returns the location to record in md. It streams
// r, fails with ErrTooLarge as soon as r passes the size limit, and leaves
// nothing behind on failure.
func (s *Store) Upload(ctx context.Context, md *pb.FunctionMetaData, r io.Reader, fileName string) (*pb.PackageLocationMetaData, error) {
	fd := md.GetFunctionDetails()
	if err := checkIdentity(fd); err != nil {
		return nil, fmt.Errorf("upload package: %w", err)
	}
	name := baseName(fileName)
	ct := componentType(fd)
	if s.opts.PackageManagement {
		return s.uploadPackage(ctx, md, ct, r, name)
	}
	return s.uploadTopic(ctx, md, ct, r, name)
}

// Delete removes a stored package once its component is gone. Like Java it
// leaves http(s), file and builtin packages alone. Unlike Java, which never
// deletes from package management, it deletes package-management packages
// that a worker uploaded (those with an originalFileName), so re-creating a
// component of the same name does not fail on "package already exists";
// package URLs a user supplied are the user's and stay. A package a Java
// worker stored in DistributedLog cannot be deleted here (ErrDistributedLog).
// Deleting what is already gone succeeds.
func (s *Store) Delete(ctx context.Context, loc *pb.PackageLocationMetaData) error {
	p, err := ParsePath(loc.GetPackagePath())
	if err != nil {
		return fmt.Errorf("delete package: %w", err)
	}
	switch p.Kind {
	case KindTopic:
		return s.deleteTopic(ctx, p)
	case KindPackage:
		if loc.GetOriginalFileName() == "" {
			return nil
		}
		return s.deletePackage(ctx, p)
	case KindDistributedLog:
		return fmt.Errorf("delete package %s: %w", p.Raw, ErrDistributedLog)
	}
	return nil
}

// Open streams a stored package, for the REST download endpoints. http(s)
// and file URLs must pass the URL policy for either component type; builtin://
// names either a connector or a function archive.
func (s *Store) Open(ctx context.Context, loc *pb.PackageLocationMetaData) (io.ReadCloser, error) {
	p, err := ParsePath(loc.GetPackagePath())
	if err != nil {
		return nil, fmt.Errorf("open package: %w", err)
	}
	switch p.Kind {
	case KindBuiltin:
		a, err := s.builtins.lookup(true, p.Name)
		if err != nil {
			if a, err = s.builtins.lookup(false, p.Name); err != nil {
				return nil, fmt.Errorf("open package %s: %w", p.Raw, err)
			}
		}
		return os.Open(a.Path)
	case KindFile:
		if err := s.policy.Check(pb.FunctionDetails_UNKNOWN, p.Raw); err != nil {
			return nil, fmt.Errorf("open package: %w", err)
		}
		f, err := os.Open(p.File)
		if errors.Is(err, os.ErrNotExist) {
			err = fmt.Errorf("%w: %s", ErrNotFound, p.File)
		}
		if err != nil {
			return nil, fmt.Errorf("open package %s: %w", p.Raw, err)
		}
		return f, nil
	case KindHTTP:
		if err := s.policy.Check(pb.FunctionDetails_UNKNOWN, p.Raw); err != nil {
			return nil, fmt.Errorf("open package: %w", err)
		}
		body, err := s.getUserURL(ctx, p, pb.FunctionDetails_UNKNOWN)
		if err != nil {
			return nil, fmt.Errorf("download package %s: %w", p.Raw, err)
		}
		return body, nil
	case KindPackage:
		body, _, err := s.openPackage(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("download package %s: %w", p.Raw, err)
		}
		return body, nil
	case KindTopic:
		if err := s.needBroker(); err != nil {
			return nil, err
		}
		if err := s.topicExists(ctx, p); err != nil {
			return nil, fmt.Errorf("download package %s: %w", p.Raw, err)
		}
		pr, pw := io.Pipe()
		go func() {
			_, err := s.readTopic(ctx, p, pw)
			pw.CloseWithError(err)
		}()
		return pr, nil
	}
	return nil, fmt.Errorf("open package %s: %w", p.Raw, ErrDistributedLog)
}

// Fetch makes the instance's package available locally and returns its path:
// a file: URL's file, a built-in archive in place, or a download linked at
// <downloadDirectory>/<tenant>/<ns>/<name>/<instanceId>/<fileName>; Go
// binaries are made executable.
func (s *Store) Fetch(ctx context.Context, inst *pb.Instance) (string, error) {
	md := inst.GetFunctionMetaData()
	fd := md.GetFunctionDetails()
	return s.fetch(ctx, inst, md.GetPackageLocation(), componentType(fd), "")
}

// FetchTransform is Fetch for a sink's transform function package; it
// returns "" when the sink has none. A download goes into the instance
// directory's "transform-function" subdirectory: Java names both downloads
// after the details' className when they have no originalFileName, and the
// second would replace the first.
func (s *Store) FetchTransform(ctx context.Context, inst *pb.Instance) (string, error) {
	loc := inst.GetFunctionMetaData().GetTransformFunctionPackageLocation()
	if loc.GetPackagePath() == "" {
		return "", nil
	}
	return s.fetch(ctx, inst, loc, pb.FunctionDetails_FUNCTION, "transform-function")
}

// Cleanup removes an instance's download directory when it stops, as Java
// does, and drops cached packages no instance links to any more.
func (s *Store) Cleanup(inst *pb.Instance) error {
	dir, err := s.instanceDir(inst)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	s.cache.prune(s.log)
	return nil
}

// Connector returns the built-in connector named name.
func (s *Store) Connector(name string) (Archive, error) { return s.builtins.lookup(true, name) }

// Function returns the built-in function named name.
func (s *Store) Function(name string) (Archive, error) { return s.builtins.lookup(false, name) }

// Connectors lists the built-in connectors by name.
func (s *Store) Connectors() map[string]Archive { return s.builtins.all(true) }

// Functions lists the built-in functions by name.
func (s *Store) Functions() map[string]Archive { return s.builtins.all(false) }

// ReloadBuiltins rescans connectorsDirectory and functionsDirectory.
func (s *Store) ReloadBuiltins() error { return s.builtins.reload() }

func (s *Store) needBroker() error {
	if s.client == nil || s.admin == nil || s.brokerHTTP == nil {
		return errors.New("packages: no broker connection")
	}
	return nil
}

// componentType is Java's InstanceUtils.calculateSubjectType.
func componentType(fd *pb.FunctionDetails) pb.FunctionDetails_ComponentType {
	if ct := fd.GetComponentType(); ct != pb.FunctionDetails_UNKNOWN {
		return ct
	}
	if len(fd.GetSource().GetInputSpecs()) == 0 {
		return pb.FunctionDetails_SOURCE
	}
	if fd.GetSink().GetBuiltin() != "" {
		return pb.FunctionDetails_SINK
	}
	if c := fd.GetSink().GetClassName(); c == "" || c == "org.apache.pulsar.functions.sink.PulsarSink" {
		return pb.FunctionDetails_FUNCTION
	}
	return pb.FunctionDetails_SINK
}

// builtinName is Java's FunctionCommon.getFunctionCodeBuiltin for a component type.
func builtinName(fd *pb.FunctionDetails, ct pb.FunctionDetails_ComponentType) string {
	switch ct {
	case pb.FunctionDetails_SOURCE:
		return fd.GetSource().GetBuiltin()
	case pb.FunctionDetails_SINK:
		return fd.GetSink().GetBuiltin()
	}
	return fd.GetBuiltin()
}

// packageType is the broker's package type of a component.
func packageType(ct pb.FunctionDetails_ComponentType) string {
	switch ct {
	case pb.FunctionDetails_SOURCE:
		return "source"
	case pb.FunctionDetails_SINK:
		return "sink"
	}
	return "function"
}

// checkIdentity refuses names that would not make safe path elements:
// tenant, namespace and name become directories under downloadDirectory.
func checkIdentity(fd *pb.FunctionDetails) error {
	for _, v := range []struct{ what, s string }{{"tenant", fd.GetTenant()}, {"namespace", fd.GetNamespace()}, {"name", fd.GetName()}} {
		if !safeElement(v.s) {
			return fmt.Errorf("function %s %q is not usable as a path element", v.what, v.s)
		}
	}
	return nil
}

func safeElement(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.ContainsAny(s, "/\\\x00")
}

// baseName keeps the last element of an uploaded file name, as Java's
// File.getName does when it builds the download path.
func baseName(s string) string {
	s = strings.ReplaceAll(s, `\`, "/")
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		s = s[i+1:]
	}
	if !safeElement(s) {
		return ""
	}
	return s
}

// downloadFileName is Java's FunctionActioner.getDownloadFileName.
func downloadFileName(fd *pb.FunctionDetails, loc *pb.PackageLocationMetaData) (string, error) {
	if n := baseName(loc.GetOriginalFileName()); n != "" {
		return n, nil
	}
	parts := strings.Split(fd.GetClassName(), ".")
	name := fd.GetClassName()
	if len(parts) >= 2 {
		name = parts[len(parts)-2]
	}
	switch fd.GetRuntime() {
	case pb.FunctionDetails_JAVA:
		name += ".jar"
	case pb.FunctionDetails_PYTHON:
		name += ".py"
	case pb.FunctionDetails_GO:
		name += ".go"
	default:
		return "", fmt.Errorf("unknown runtime %v", fd.GetRuntime())
	}
	if n := baseName(name); n != "" {
		return n, nil
	}
	return "", fmt.Errorf("no usable package file name from className %q", fd.GetClassName())
}

func (s *Store) instanceDir(inst *pb.Instance) (string, error) {
	fd := inst.GetFunctionMetaData().GetFunctionDetails()
	if err := checkIdentity(fd); err != nil {
		return "", err
	}
	return filepath.Join(s.downloadDir, fd.GetTenant(), fd.GetNamespace(), fd.GetName(),
		strconv.Itoa(int(inst.GetInstanceId()))), nil
}
