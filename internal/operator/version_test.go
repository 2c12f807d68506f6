package operator

import (
	"strings"
	"testing"
)

func TestBuildVersion(t *testing.T) {
	if v := BuildVersion(); v != "dev" && !strings.HasPrefix(v, "dev-") {
		t.Errorf("a build without -X Version says %q, want dev or dev-<commit>", v)
	}
	Version = "v0.2.0"
	defer func() { Version = "" }()
	if v := BuildVersion(); v != "v0.2.0" {
		t.Errorf("BuildVersion = %q with Version set", v)
	}
}
