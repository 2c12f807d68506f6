package renderconfig

import (
	"bytes"
	"strings"
	"testing"
)

func TestCheckRelease(t *testing.T) {
	for _, c := range []struct {
		configured, answer, want string
	}{
		{"27.1.0", "v27.1.0\nledger protocol version: 27\n", ""},
		{"27.1.0", "stellar-core 27.1.2 (abc123)\nledger protocol version: 27\n", ""},
		{"19.14.0", "v19.14.0-dirty\n", ""},
		{"27.1.0", "v22.1.0\nledger protocol version: 22\n", "release line v22.1"},
		{"27.1.0", "custom-build\nledger protocol version: 27\n", ""},
		{"27.1.0", "custom-build\nledger protocol version: 26\n", "supports protocol 26"},
		{"27.1.0", "custom-build\n", "cannot read a release"},
		{"27.1.0", "", "printed nothing"},
		{"27.1.0", "v18.0.0\n", "older than the oldest"},
	} {
		var out bytes.Buffer
		err := RunCheckRelease(ReleaseArgs(c.configured)[1:], strings.NewReader(c.answer), &out)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s with %q: %v", c.configured, c.answer, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s with %q: err = %v, want %q", c.configured, c.answer, err, c.want)
		}
	}
}
