package api

// F17 upload by path (super users), F18 download by path and F19 download
// of a function's package (spec/rest-api.md §3.11, §3.12; 4.0.8
// ComponentImpl.uploadFunction / downloadFunction).
//
// Where we knowingly differ from 4.0.8:
//   - F18/F19 open the package before answering, so a missing package is
//     404 {"reason": ...} (Java fails inside its streaming output, after the
//     200 status line) and a URL the package URL policy refuses is 400.
//   - F19 with transform-function=true for a component without a transform
//     function is 404 "<name> has no transform function".

import (
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
)

// uploadByPath is F17.
func (s *Server) uploadByPath(w http.ResponseWriter, r *http.Request) error {
	// Initialisation and the super-user check before the body is read (Java
	// spools it first; see configRequest).
	if err := s.checkInitialized(); err != nil {
		return err
	}
	if err := s.requireSuperUser(r, msgNotAuthorized); err != nil {
		return err
	}
	mr, err := r.MultipartReader()
	if errors.Is(err, http.ErrNotMultipart) {
		return fail(http.StatusUnsupportedMediaType, "Unsupported Media Type")
	}
	if err != nil {
		return fail(http.StatusBadRequest, "Bad Request")
	}
	// The data part is spooled, as Jersey does, so that the path part may
	// come after it.
	var (
		data *os.File
		path *string
	)
	defer func() {
		if data != nil {
			data.Close()
			os.Remove(data.Name())
		}
	}()
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fail(http.StatusBadRequest, "Bad Request")
		}
		switch name := part.FormName(); {
		case name == "data" && data == nil:
			if data, err = os.CreateTemp("", "pfw-upload-*"); err != nil {
				return err
			}
			if err := spoolPart(data, part, s.maxPackageBytes); err != nil {
				return err
			}
		case name == "path" && path == nil:
			b, err := io.ReadAll(io.LimitReader(part, maxTextPart+1))
			if err != nil || len(b) > maxTextPart {
				return fail(http.StatusBadRequest, "Bad Request")
			}
			p := string(b)
			path = &p
		}
		part.Close()
	}
	if data == nil || path == nil {
		p := "null"
		if path != nil {
			p = *path
		}
		return fail(http.StatusBadRequest, "Function Package is not provided %s", p)
	}
	if s.lifecycle == nil {
		return fail(http.StatusInternalServerError, "upload is not available on this worker")
	}
	if _, err := data.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if err := s.lifecycle.UploadPath(r.Context(), *path, data); err != nil {
		switch {
		case errors.Is(err, ErrInvalidPackageName):
			// 4.0.8 hands the path to its admin client's packages().upload,
			// whose PackageName.get throws through a Guava cache; the
			// worker answers 500 with the wrapped exception's text.
			return fail(http.StatusInternalServerError, "%s", javaInvalidPackageName(*path))
		case errors.Is(err, ErrPackageTooLarge):
			return fail(http.StatusRequestEntityTooLarge, "%s", err.Error())
		case errors.Is(err, ErrBadPackage):
			return fail(http.StatusBadRequest, "%s", err.Error())
		}
		return fail(http.StatusInternalServerError, "%s", err.Error())
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// javaInvalidPackageName is 4.0.8's answer to an upload by path, with
// package management on, whose path is no package name.
func javaInvalidPackageName(path string) string {
	return "com.google.common.util.concurrent.UncheckedExecutionException: java.lang.IllegalArgumentException: Invalid package name '" + path + "'"
}

// javaSplit is Java's String.split("/"): trailing empty strings dropped.
func javaSplit(s string) []string {
	parts := strings.Split(s, "/")
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}

// downloadByPath is F18: a path of the tenant/namespace/name/file form needs
// the namespace right, any other path a super user (both pass when
// authorization is off).
func (s *Server) downloadByPath(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkInitialized(); err != nil {
		return err
	}
	q, has := r.URL.Query()["path"]
	if !has || len(q) == 0 {
		// Java dereferences the null path.
		return fail(http.StatusInternalServerError, "Request failed.")
	}
	path := q[0]
	if tokens := javaSplit(path); len(tokens) == 4 {
		if err := s.authorizeFunctions(r, tokens[0], tokens[1]); err != nil {
			return err
		}
	} else if err := s.requireSuperUser(r, msgNotAuthorized); err != nil {
		return err
	}
	return s.streamPackage(w, r, path, true)
}

// downloadComponentPackage is F19.
func (s *Server) downloadComponentPackage(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkInitialized(); err != nil {
		return err
	}
	t, ns, name := r.PathValue("tenant"), r.PathValue("namespace"), r.PathValue("name")
	if err := s.authorizeFunctions(r, t, ns); err != nil {
		return err
	}
	md, ok := s.functions.Function(t, ns, name)
	if !ok {
		return fail(http.StatusNotFound, "%s %s doesn't exist", functionType, name)
	}
	path := md.GetPackageLocation().GetPackagePath()
	if strings.EqualFold(r.URL.Query().Get("transform-function"), "true") {
		path = md.GetTransformFunctionPackageLocation().GetPackagePath()
		if path == "" {
			return fail(http.StatusNotFound, "%s has no transform function", name)
		}
	}
	return s.streamPackage(w, r, path, false)
}

// streamPackage answers 200 with the package's bytes; like Java the
// Content-Type is the resource's application/json. byPath: path is an
// upload path (F18), else a component's package location (F19).
func (s *Server) streamPackage(w http.ResponseWriter, r *http.Request, path string, byPath bool) error {
	if s.lifecycle == nil {
		return fail(http.StatusInternalServerError, "download is not available on this worker")
	}
	open := s.lifecycle.OpenPackage
	if byPath {
		open = s.lifecycle.OpenPath
	}
	rc, err := open(r.Context(), path)
	switch {
	case errors.Is(err, ErrPackageNotFound):
		return fail(http.StatusNotFound, "%s", err.Error())
	case errors.Is(err, ErrPackageURLNotAllowed):
		return fail(http.StatusBadRequest, msgURLNotValid)
	case err != nil:
		return fail(http.StatusInternalServerError, "%s", err.Error())
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, rc); err != nil {
		// Too late for a status: the client sees a short body.
		s.log.Warn("package download failed", "path", path, "err", err)
	}
	return nil
}

// spoolPart copies a package part to dst, failing with 413 past limit bytes
// (<= 0: no limit) and with 400 when the body breaks off.
func spoolPart(dst io.Writer, part io.Reader, limit int64) error {
	if limit <= 0 {
		if _, err := io.Copy(dst, part); err != nil {
			return fail(http.StatusBadRequest, "Bad Request")
		}
		return nil
	}
	n, err := io.Copy(dst, io.LimitReader(part, limit+1))
	if err != nil {
		return fail(http.StatusBadRequest, "Bad Request")
	}
	if n > limit {
		return fail(http.StatusRequestEntityTooLarge, "%s: more than %d bytes (maxPackageSizeBytes)", ErrPackageTooLarge, limit)
	}
	return nil
}
