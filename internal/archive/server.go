// Package archive serves the history archive a Full validator publishes on its volume, read-only, over
// HTTP, so the network's other validators can catch up from it. The validator's agent sidecar runs it,
// from the operator's own image: no other image to trust.
package archive

import (
	"fmt"
	"net/http"
	"os"
	"path"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// StateFile is the archive's root document, rewritten at every checkpoint: never cached.
const StateFile = ".well-known/stellar-history.json"

// Cache-Control values: checkpoint files never change once written, the state file and errors do.
const (
	cacheForever = "public, max-age=31536000, immutable"
	cacheNever   = "no-cache"
)

// Server serves one archive directory read-only.
type Server struct {
	dir     string
	metrics *metrics

	mu   sync.Mutex
	root *os.Root
}

// NewServer serves the archive under dir. dir may not exist yet (stellar-core's new-hist creates it
// after the server starts): every file is a 404 until it does.
func NewServer(dir string, reg prometheus.Registerer) *Server {
	return &Server{dir: dir, metrics: newMetrics(reg)}
}

// openRoot is the archive's root, opened once it exists.
func (s *Server) openRoot() *os.Root {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.root == nil {
		if root, err := os.OpenRoot(s.dir); err == nil {
			s.root = root
		}
	}
	return s.root
}

// ServeHTTP answers GET and HEAD for the archive's files. Paths are resolved inside the archive's root
// only (os.Root: no "..", no absolute path, no symbolic link out of it), directories are never listed.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
	s.serve(rec, r)
	s.metrics.requests.WithLabelValues(methodLabel(r.Method), fmt.Sprint(rec.code)).Inc()
	if rec.code >= 500 {
		s.metrics.errors.Inc()
	}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		fail(w, http.StatusMethodNotAllowed, "read-only archive")
		return
	}
	name, ok := cleanName(r.URL.Path)
	if !ok {
		fail(w, http.StatusBadRequest, "invalid path")
		return
	}
	root := s.openRoot()
	if root == nil {
		fail(w, http.StatusNotFound, "no archive yet")
		return
	}
	f, err := root.Open(name)
	if err != nil {
		// Missing, or outside the root (a symbolic link out of it): the same answer.
		fail(w, http.StatusNotFound, "not found")
		return
	}
	defer func() { _ = f.Close() }()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		fail(w, http.StatusNotFound, "not found")
		return
	}
	if name == StateFile {
		w.Header().Set("Cache-Control", cacheNever)
		w.Header().Set("Content-Type", "application/json")
	} else {
		w.Header().Set("Cache-Control", cacheForever)
		w.Header().Set("Content-Type", "application/octet-stream")
	}
	http.ServeContent(w, r, "", info.ModTime(), f)
}

// cleanName turns a request path into a name inside the archive, refusing any ".." segment, an
// absolute path after the leading slash, a backslash or a NUL.
func cleanName(p string) (string, bool) {
	rest, ok := strings.CutPrefix(p, "/")
	if !ok || rest == "" || strings.HasPrefix(rest, "/") || strings.ContainsAny(rest, "\\\x00") {
		return "", false
	}
	for seg := range strings.SplitSeq(rest, "/") {
		if seg == ".." || seg == "." {
			return "", false
		}
	}
	if path.Clean(rest) != rest {
		return "", false
	}
	return rest, true
}

func fail(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Cache-Control", cacheNever)
	http.Error(w, msg, code)
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}

type metrics struct {
	requests *prometheus.CounterVec
	errors   prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stellar_history_archive_requests_total",
			Help: "Requests to the validator's history archive server, by method and status code.",
		}, []string{"method", "code"}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "stellar_history_archive_errors_total",
			Help: "Requests the history archive server failed to answer (5xx).",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.errors)
	}
	return m
}

// methodLabel bounds the method label: any client may send any method name, and each would be a series.
func methodLabel(method string) string {
	if method == http.MethodGet || method == http.MethodHead {
		return method
	}
	return "other"
}
