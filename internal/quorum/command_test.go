package quorum

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Real keys, so the file reads as stellar-core's would.
var (
	sdf = []string{"GDKXE2OZMJIPOSLNA6N6F2BVCI3O777I2OOC4BV7VOYUEHYX7RTRYA7Y", "GCUCJTIYXSOXKBSNFGNFWW5MUQ54HKRPGJUTQFJ5RQXZXNOLNXYDHRAP",
		"GC2V2EFSXN6SQTWVYA5EPJPBWWIMSD2XQNKUOHGEKB535AQE2I6IXV2Z"}
	other = []string{"GCYKZEUA6S5TU7CSMUEJNH7NGUQKKLHVCFK6W32GCUR6VB324MSCIKNS", "GDJMNI2R7VRTEKRXFPSQWE2GLC27GLTFJL6JULE6YD6EQXKZU6EIWR74",
		"GBCHGCSOBGZEHUYW2L6U7RPQYMAKBFKKVYPU72XGZRGRRQ475KWGO2SV"}
)

func runOn(t *testing.T, doc string, extra ...string) (code int, stdout, stderr string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "quorum.json")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errs strings.Builder
	code = Run(append(extra, path), &out, &errs)
	return code, out.String(), errs.String()
}

// The command answers as stellar-core's: 0 intersecting, 101 split naming the two quorums, 1 for a
// file it cannot read; --result-json writes the verdict.
func TestCommand(t *testing.T) {
	intersecting := Map{}
	every(intersecting, org(sdf...), sdf...)
	data, err := intersecting.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if code, out, errs := runOn(t, string(data)); code != ExitIntersecting || !strings.Contains(out, "intersect") {
		t.Errorf("intersecting map: exit %d, %q %q", code, out, errs)
	}
	split := Map{other[2]: nil} // one node whose set is unknown, as stellar-core writes {}
	every(split, org(sdf...), sdf...)
	every(split, QSet{Threshold: 2, Validators: other}, other[:2]...)
	data, _ = split.JSON()
	if !strings.Contains(string(data), `"qset":{}`) {
		t.Errorf("an unknown set is not written as {}: %s", data)
	}
	resultPath := filepath.Join(t.TempDir(), "result.json")
	code, out, _ := runOn(t, string(data), "--result-json", resultPath)
	if code != ExitSplit || !strings.Contains(out, sdf[0]) || !strings.Contains(out, other[0]) {
		t.Errorf("split map: exit %d, %q", code, out)
	}
	var res resultJSON
	raw, _ := os.ReadFile(resultPath)
	if err := json.Unmarshal(raw, &res); err != nil || res.Status != ExitSplit || len(res.QuorumSplit) != 2 || len(res.QuorumSplit[0]) == 0 {
		t.Errorf("result json %s: %v", raw, err)
	}
	for _, bad := range []string{`{}`, `{"nodes": [{"node": "GNOTAKEY", "qset": {}}]}`, `not json`,
		`{"nodes": [{"node": "` + sdf[0] + `", "qset": {"t": 2, "v": ["` + sdf[1] + `"]}}]}`} {
		if code, _, _ := runOn(t, bad); code != ExitBadInput {
			t.Errorf("%s: exit %d, want %d", bad, code, ExitBadInput)
		}
	}
}

// --analyze-critical-groups lists the critical groups of an intersecting map, in stellar-core's
// result fields.
func TestCommandAnalyzesCriticalGroups(t *testing.T) {
	m := Map{}
	// sdf trust two of the three of themselves; other[0] trusts sdf[0] and itself: sdf[0] is critical.
	every(m, QSet{Threshold: 2, Validators: sdf}, sdf...)
	every(m, QSet{Threshold: 2, Validators: []string{sdf[0], other[0]}}, other[0])
	data, _ := m.JSON()
	resultPath := filepath.Join(t.TempDir(), "result.json")
	path := filepath.Join(t.TempDir(), "quorum.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	// The flags after the file, as stellar-core's command takes them.
	var stdout, stderr strings.Builder
	code := Run([]string{path, "--analyze-critical-groups", "--result-json", resultPath}, &stdout, &stderr)
	out, errs := stdout.String(), stderr.String()
	if code != ExitIntersecting || !strings.Contains(out, "intersection-critical group: "+sdf[0]+"\n") {
		t.Errorf("exit %d, %q %q", code, out, errs)
	}
	var res resultJSON
	raw, _ := os.ReadFile(resultPath)
	if err := json.Unmarshal(raw, &res); err != nil || res.Status != 0 || len(res.CriticalGroups) != 1 || res.CriticalGroups[0][0] != sdf[0] || res.Error != "" {
		t.Errorf("result json %s: %v", raw, err)
	}
}

// What the JSON holds is what the map holds.
func TestJSONRoundTrip(t *testing.T) {
	m := Map{other[0]: nil}
	every(m, QSet{Threshold: 2, Validators: sdf[:1], InnerSets: []QSet{org(sdf[1:]...), {Threshold: 1, Validators: other}}}, sdf...)
	data, err := m.JSON()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := back.JSON()
	if string(again) != string(data) {
		t.Errorf("round trip:\n%s\n%s", data, again)
	}
}
