package packages

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// The broker's packages REST API (/admin/v3/packages) is used with plain
// HTTP: the broker's admin client is set up for v2 paths, and it would buffer
// a whole package in memory for an upload.

// errRequestDone ends an upload body the broker stopped reading.
var errRequestDone = errors.New("request finished")

// packageMetadata is the broker's PackageMetadata JSON.
type packageMetadata struct {
	Description      string            `json:"description,omitempty"`
	Contact          string            `json:"contact,omitempty"`
	CreateTime       int64             `json:"createTime,omitempty"`
	ModificationTime int64             `json:"modificationTime,omitempty"`
	Properties       map[string]string `json:"properties,omitempty"`
}

// Properties we add to package metadata, so downloads can be verified.
const (
	pkgPropSHA256 = "pulsar-functions-worker.sha256"
	pkgPropSize   = "pulsar-functions-worker.size"
)

func (s *Store) packageEndpoint(p Path, suffix ...string) (string, error) {
	if s.opts.WebServiceURL == "" {
		return "", errors.New("pulsarWebServiceUrl is not set")
	}
	parts := []string{"admin", "v3", "packages", p.Type, p.Tenant, p.Namespace, p.Name, p.Version}
	parts = append(parts, suffix...)
	for i, part := range parts {
		parts[i] = url.PathEscape(part)
	}
	return trimSlash(s.opts.WebServiceURL) + "/" + strings.Join(parts, "/"), nil
}

// uploadPackage stores the package as Java does with
// functionsWorkerEnablePackageManagement: type://tenant/ns/name@<metadata
// version>, createTime from the metadata.
func (s *Store) uploadPackage(ctx context.Context, md *pb.FunctionMetaData, ct pb.FunctionDetails_ComponentType, r io.Reader, fileName string) (*pb.PackageLocationMetaData, error) {
	fd := md.GetFunctionDetails()
	raw := packageURL(packageType(ct), fd.GetTenant(), fd.GetNamespace(), fd.GetName(), strconv.FormatUint(md.GetVersion(), 10))
	if strings.Contains(fd.GetName(), "@") {
		// The broker would take it, but no worker could name it again:
		// Java's PackageName splits name and version at '@'.
		return nil, fmt.Errorf("upload package %s: %w", raw, ErrInvalidPackageName)
	}
	p, err := ParsePath(raw)
	if err != nil {
		return nil, fmt.Errorf("upload package: %w", err)
	}
	desc := fmt.Sprintf("%s %s/%s/%s", packageType(ct), fd.GetTenant(), fd.GetNamespace(), fd.GetName())
	if err := s.putPackage(ctx, p, r, fileName, desc, int64(md.GetCreateTime())); err != nil {
		return nil, err
	}
	return &pb.PackageLocationMetaData{PackagePath: raw, OriginalFileName: fileName}, nil
}

// putPackage POSTs r to the packages service as p, streaming, with our
// sha256 and size in the package's metadata.
func (s *Store) putPackage(ctx context.Context, p Path, r io.Reader, fileName, description string, createTime int64) error {
	raw := p.Raw
	if s.brokerHTTP == nil {
		return fmt.Errorf("upload package %s: no broker connection", raw)
	}
	endpoint, err := s.packageEndpoint(p)
	if err != nil {
		return fmt.Errorf("upload package %s: %w", raw, err)
	}
	start := time.Now()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	var (
		size    int64
		sum     string
		bodyErr error
		done    = make(chan struct{})
	)
	go func() {
		defer close(done)
		bodyErr = func() error {
			// The file part goes first so the metadata part can carry its hash.
			h := textproto.MIMEHeader{}
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, orDefault(fileName, "package")))
			h.Set("Content-Type", "application/octet-stream")
			part, err := mw.CreatePart(h)
			if err != nil {
				return err
			}
			hash := sha256.New()
			n, err := io.Copy(io.MultiWriter(part, hash), &limitReader{r: r, limit: s.maxBytes})
			if err != nil {
				return err
			}
			size, sum = n, hex.EncodeToString(hash.Sum(nil))
			meta, err := json.Marshal(packageMetadata{
				Description: description,
				CreateTime:  createTime,
				Properties:  map[string]string{pkgPropSHA256: sum, pkgPropSize: strconv.FormatInt(n, 10), "fileName": fileName},
			})
			if err != nil {
				return err
			}
			h = textproto.MIMEHeader{}
			h.Set("Content-Disposition", `form-data; name="metadata"`)
			h.Set("Content-Type", "application/json")
			if part, err = mw.CreatePart(h); err != nil {
				return err
			}
			if _, err := part.Write(meta); err != nil {
				return err
			}
			return mw.Close()
		}()
		pw.CloseWithError(bodyErr)
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, pr)
	if err != nil {
		pr.Close()
		<-done
		return fmt.Errorf("upload package %s: %w", raw, err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := s.brokerHTTP.Do(req)
	pr.CloseWithError(errRequestDone) // unblocks the writer if the broker answered early
	<-done
	if bodyErr != nil && !errors.Is(bodyErr, errRequestDone) && (err != nil || resp.StatusCode/100 != 2) {
		if resp != nil {
			resp.Body.Close()
		}
		return fmt.Errorf("upload package %s: %w", raw, bodyErr)
	}
	if err != nil {
		return fmt.Errorf("upload package %s: %w", raw, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("upload package %s: %w", raw, brokerError(resp))
	}
	took := time.Since(start)
	s.log.Info("package stored", "package", raw, "bytes", size, "sha256", sum,
		"took", took.Round(time.Millisecond), "MiB/s", mibPerSec(size, took))
	return nil
}

// openPackage GETs a package and the sha256 our metadata property recorded
// (empty for packages uploaded by others).
func (s *Store) openPackage(ctx context.Context, p Path) (io.ReadCloser, string, error) {
	if s.brokerHTTP == nil {
		return nil, "", errors.New("no broker connection")
	}
	var sum string
	if metaURL, err := s.packageEndpoint(p, "metadata"); err == nil {
		var meta packageMetadata
		switch err := s.getJSON(ctx, metaURL, &meta); {
		case errors.Is(err, ErrNotFound):
			return nil, "", err
		case err != nil:
			s.log.Debug("package metadata unavailable; downloading unverified", "package", p.Raw, "err", err)
		default:
			sum = meta.Properties[pkgPropSHA256]
		}
	}
	endpoint, err := s.packageEndpoint(p)
	if err != nil {
		return nil, "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return nil, "", err
	}
	identityEncoding(req)
	resp, err := s.brokerHTTP.Do(req)
	if err != nil {
		return nil, "", err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, "", brokerError(resp)
	}
	return resp.Body, sum, nil
}

func (s *Store) deletePackage(ctx context.Context, p Path) error {
	endpoint, err := s.packageEndpoint(p)
	if err != nil {
		return fmt.Errorf("delete package %s: %w", p.Raw, err)
	}
	if s.brokerHTTP == nil {
		return fmt.Errorf("delete package %s: no broker connection", p.Raw)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, endpoint, nil)
	if err != nil {
		return fmt.Errorf("delete package %s: %w", p.Raw, err)
	}
	resp, err := s.brokerHTTP.Do(req)
	if err != nil {
		return fmt.Errorf("delete package %s: %w", p.Raw, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		if err := brokerError(resp); !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("delete package %s: %w", p.Raw, err)
		}
		return nil
	}
	s.log.Info("package deleted", "package", p.Raw)
	return nil
}

func (s *Store) getJSON(ctx context.Context, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	identityEncoding(req)
	resp, err := s.brokerHTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return brokerError(resp)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v)
}

// brokerError turns a broker's error answer ({"reason": ...}) into an error;
// 404 wraps ErrNotFound, "already exists" ErrExists.
func brokerError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	var body struct {
		Reason string `json:"reason"`
	}
	msg := strings.TrimSpace(string(b))
	if json.Unmarshal(b, &body) == nil && body.Reason != "" {
		msg = body.Reason
	}
	err := fmt.Errorf("broker answered %s: %s", resp.Status, msg)
	if strings.Contains(msg, "already exists") {
		// The packages service reports this with a NotFoundException (404).
		return fmt.Errorf("%w: %w", ErrExists, err)
	}
	if resp.StatusCode == http.StatusNotFound {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}

// identityEncoding asks for the bytes as stored. Without an Accept-Encoding
// header Go's transport asks for gzip, and the broker (Jetty's GzipHandler)
// then compresses packages on the fly: jars and NARs hardly shrink, and
// downloads ran 8-12 times slower than curl's. An explicit header also turns
// off the transport's transparent decompression, so what we hash and store
// is exactly what was sent.
func identityEncoding(req *http.Request) {
	req.Header.Set("Accept-Encoding", "identity")
}

func trimSlash(s string) string { return strings.TrimRight(s, "/") }

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
