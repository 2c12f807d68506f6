package health

import (
	"strings"
	"testing"
	"time"
)

func TestInConsensus(t *testing.T) {
	for _, c := range []struct {
		state string
		age   int64
		want  string
	}{
		{"Synced!", 0, ""},
		{"Synced!", 30, ""},
		{"Synced!", 31, "closed 31 s ago"},
		{"Joining SCP", 1, `"Joining SCP", not "Synced!"`},
		{"Catching up", 1, "not"},
		{"", 0, "not"},
	} {
		err := InConsensus(c.state, 9, c.age, MaxLedgerAge)
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%q, %d s: %v, want %q", c.state, c.age, err, c.want)
		}
	}
}

// ParseInfo reads the answers stellar-core v19.14.0 gives: its info, the booting error, an exception.
func TestParseInfo(t *testing.T) {
	info, err := ParseInfo([]byte(`{"info": {"state": "Synced!", "build": "v19.14.0", "ledger": {"num": 12, "age": 2, "version": 19, "baseFee": 100}}}`))
	if err != nil || info.State != "Synced!" || info.Ledger.Num != 12 || info.Ledger.BaseFee != 100 {
		t.Errorf("%+v %v", info, err)
	}
	for body, want := range map[string]string{
		`{"error": "Core is booting, try again later"}`: "booting",
		`{"exception": "boom"}`:                         "boom",
		`{}`:                                            "no info",
		`exception: boom`:                               "not JSON",
	} {
		if _, err := ParseInfo([]byte(body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", body, err)
		}
	}
	if err := Decide([]byte(`{"info": {"state": "Synced!", "ledger": {"num": 12, "age": 45}}}`), 30*time.Second); err == nil {
		t.Error("a stale ledger decided in consensus")
	}
}
