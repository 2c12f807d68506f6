package archive

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// archiveDir is an archive as stellar-core publishes it: its state file and one checkpoint file, and a
// secret next to it that must never be served.
func archiveDir(t *testing.T) (string, *Server, *prometheus.Registry) {
	t.Helper()
	top := t.TempDir()
	dir := filepath.Join(top, "history")
	for name, body := range map[string]string{
		StateFile:                                `{"version": 1, "currentLedger": 63}`,
		"history/00/00/00/history-0000003f.json": `{"version": 1}`,
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(top, "stellar-core.cfg"), []byte("NODE_SEED=secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(top, "stellar-core.cfg"), filepath.Join(dir, "link.cfg")); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	return dir, NewServer(dir, reg), reg
}

func get(s http.Handler, method, target string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(method, "/", nil)
	req.URL.Path = target // as the server receives it, unescaped, even when a client would clean it
	s.ServeHTTP(rec, req)
	return rec
}

func TestServesCheckpointFilesWithLongCaching(t *testing.T) {
	_, s, _ := archiveDir(t)
	rec := get(s, http.MethodGet, "/history/00/00/00/history-0000003f.json")
	if rec.Code != http.StatusOK || rec.Body.String() != `{"version": 1}` {
		t.Fatalf("GET checkpoint = %d %q", rec.Code, rec.Body.String())
	}
	if cc := rec.Header().Get("Cache-Control"); !strings.Contains(cc, "max-age=31536000") || !strings.Contains(cc, "immutable") {
		t.Errorf("a checkpoint file never changes: Cache-Control %q", cc)
	}
	if head := get(s, http.MethodHead, "/history/00/00/00/history-0000003f.json"); head.Code != http.StatusOK || head.Body.Len() != 0 {
		t.Errorf("HEAD = %d with %d bytes", head.Code, head.Body.Len())
	}
}

func TestStateFileAndErrorsAreNeverCached(t *testing.T) {
	_, s, _ := archiveDir(t)
	rec := get(s, http.MethodGet, "/"+StateFile)
	if rec.Code != http.StatusOK || rec.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("state file = %d, Cache-Control %q", rec.Code, rec.Header().Get("Cache-Control"))
	}
	missing := get(s, http.MethodGet, "/history/00/00/00/history-0000007f.json")
	if missing.Code != http.StatusNotFound || missing.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("missing file = %d, Cache-Control %q: a file published later must not be cached as missing",
			missing.Code, missing.Header().Get("Cache-Control"))
	}
}

func TestRefusesTraversalAbsolutePathsAndLinksOut(t *testing.T) {
	_, s, _ := archiveDir(t)
	for _, p := range []string{"/../stellar-core.cfg", "/history/../../stellar-core.cfg", "//etc/passwd", "/./history",
		"/history\\..\\..\\stellar-core.cfg", "/"} {
		rec := get(s, http.MethodGet, p)
		if rec.Code != http.StatusBadRequest {
			t.Errorf("GET %q = %d, want 400", p, rec.Code)
		}
		if strings.Contains(rec.Body.String(), "secret") {
			t.Fatalf("GET %q leaked the file beside the archive", p)
		}
	}
	if rec := get(s, http.MethodGet, "/link.cfg"); rec.Code != http.StatusNotFound || strings.Contains(rec.Body.String(), "secret") {
		t.Errorf("a symbolic link out of the archive = %d %q, want 404", rec.Code, rec.Body.String())
	}
	if rec := get(s, http.MethodGet, "/history"); rec.Code != http.StatusNotFound {
		t.Errorf("a directory is never listed: %d", rec.Code)
	}
}

func TestRefusesWrites(t *testing.T) {
	dir, s, _ := archiveDir(t)
	for _, m := range []string{http.MethodPut, http.MethodPost, http.MethodDelete, http.MethodPatch} {
		rec := get(s, m, "/"+StateFile)
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("%s = %d, Allow %q", m, rec.Code, rec.Header().Get("Allow"))
		}
	}
	if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(StateFile))); err != nil {
		t.Fatal("the state file is still there")
	}
}

func TestArchiveCreatedAfterTheServerStarts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "history")
	s := NewServer(dir, nil)
	if rec := get(s, http.MethodGet, "/"+StateFile); rec.Code != http.StatusNotFound {
		t.Fatalf("before new-hist: %d", rec.Code)
	}
	p := filepath.Join(dir, filepath.FromSlash(StateFile))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if rec := get(s, http.MethodGet, "/"+StateFile); rec.Code != http.StatusOK {
		t.Fatalf("after new-hist: %d", rec.Code)
	}
}

func TestCountsRequestsAndErrors(t *testing.T) {
	_, s, reg := archiveDir(t)
	get(s, http.MethodGet, "/"+StateFile)
	get(s, http.MethodGet, "/nothing")
	get(s, http.MethodPut, "/x")
	if n := testutil.ToFloat64(s.metrics.requests.WithLabelValues("GET", "200")); n != 1 {
		t.Errorf("GET 200 = %v", n)
	}
	if n := testutil.ToFloat64(s.metrics.requests.WithLabelValues("GET", "404")); n != 1 {
		t.Errorf("GET 404 = %v", n)
	}
	if n := testutil.ToFloat64(s.metrics.requests.WithLabelValues("other", "405")); n != 1 {
		t.Errorf("PUT counted as other 405 = %v", n)
	}
	if n, err := testutil.GatherAndCount(reg, "stellar_history_archive_requests_total"); err != nil || n != 3 {
		t.Errorf("registered series = %d, %v", n, err)
	}
}

// Any client may send any method name: the request metric keeps three label values whatever comes.
func TestMethodLabelIsBounded(t *testing.T) {
	_, s, reg := archiveDir(t)
	for i := range 200 {
		get(s, "MADEUP"+strings.Repeat("X", i%50), "/"+StateFile)
	}
	get(s, http.MethodGet, "/"+StateFile)
	get(s, http.MethodHead, "/"+StateFile)
	if n := testutil.CollectAndCount(reg, "stellar_history_archive_requests_total"); n > 3*2 {
		t.Errorf("%d series of the request metric after 200 made-up methods", n)
	}
}
