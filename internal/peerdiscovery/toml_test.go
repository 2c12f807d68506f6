package peerdiscovery_test

import (
	"github.com/BurntSushi/toml"
	. "github.com/onsi/gomega"
)

func parseTOML(g Gomega, text string) map[string]any {
	var out map[string]any
	_, err := toml.Decode(text, &out)
	g.Expect(err).NotTo(HaveOccurred())
	return out
}
