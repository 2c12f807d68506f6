package readiness

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// infoBody is an /info answer shaped as ApplicationImpl::getJsonInfo writes it.
func infoBody(state string, num, age int) string {
	return fmt.Sprintf(`{"info": {"build": "v19.14.0", "protocol_version": 19, "state": %q, "startedOn": "2026-11-27T20:00:00Z",
 "ledger": {"num": %d, "hash": "ab", "closeTime": 1790000000, "version": 19, "baseFee": 100, "baseReserve": 5000000,
 "maxTxSetSize": 100, "age": %d}, "peers": {"pending_count": 0, "authenticated_count": 2}, "network": "Test SDF Network ; September 2015",
 "quorum": {"qset": {"agree": 3, "missing": 0, "fail_at": 1}}}}`, state, num, age)
}

func TestDecide(t *testing.T) {
	cases := []struct {
		name, body string
		ready      bool
		why        string
	}{
		{"booting", `{"error": "Core is booting, try again later"}`, false, "Core is booting"},
		{"joining SCP", infoBody("Joining SCP", 1, 40), false, `"Joining SCP"`},
		{"connected", infoBody("Connected", 2, 3), false, `"Connected"`},
		{"catching up", infoBody("Catching up", 100, 600), false, `"Catching up"`},
		{"synced with a fresh ledger", infoBody("Synced!", 1200, 3), true, ""},
		{"synced with a ledger at the bound", infoBody("Synced!", 1200, 30), true, ""},
		{"synced but no ledger closed for 34 s", infoBody("Synced!", 2, 34), false, "not in consensus"},
		{"stopping", infoBody("Stopping", 1200, 1), false, `"Stopping"`},
		{"not JSON", "<html>", false, "not JSON"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Decide([]byte(c.body), DefaultMaxLedgerAge)
			if (err == nil) != c.ready {
				t.Fatalf("ready = %v (%v), want %v", err == nil, err, c.ready)
			}
			if err != nil && !strings.Contains(err.Error(), c.why) {
				t.Errorf("err = %v, want it to say %q", err, c.why)
			}
		})
	}
}

func TestRunAsksLoopback(t *testing.T) {
	body := infoBody("Synced!", 10, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/info" {
			http.NotFound(w, r)
			return
		}
		_, _ = fmt.Fprint(w, body)
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	var out strings.Builder
	if err := Run([]string{"--port=" + port}, &out); err != nil || !strings.Contains(out.String(), "in consensus") {
		t.Fatalf("err = %v, out = %q", err, out.String())
	}
	body = infoBody("Synced!", 10, 45)
	if err := Run([]string{"--port=" + port, "--max-ledger-age=40s"}, &out); err == nil {
		t.Fatal("a ledger 45 s old is not in consensus")
	}
	srv.Close()
	if err := Run([]string{"--port=" + port}, &out); err == nil || !strings.Contains(err.Error(), "does not answer") {
		t.Fatalf("err = %v", err)
	}
	if got := (Args{Port: 11626, MaxLedgerAge: time.Minute}).List(); strings.Join(got, " ") != "ready --port=11626 --max-ledger-age=1m0s" {
		t.Errorf("args = %v", got)
	}
}
