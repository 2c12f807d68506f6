package operator

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The documentation names only flags, variables and files that exist.
func TestDocsNameWhatExists(t *testing.T) {
	mainSrc, err := os.ReadFile("config.go")
	if err != nil {
		t.Fatal(err)
	}
	docs, err := filepath.Glob(filepath.Join("..", "..", "docs", "*.md"))
	if err != nil || len(docs) == 0 {
		t.Fatalf("no docs: %v", err)
	}
	docs = append(docs, filepath.Join("..", "..", "README.md"))
	flagRow := regexp.MustCompile("^\\| `--([a-z-]+)` \\| `?([A-Z_]*)`?")
	path := regexp.MustCompile("`((?:cmd|api|internal|config|examples|docs|test|hack)/[A-Za-z0-9_./-]+)`")
	flags, paths := 0, 0
	for _, doc := range docs {
		data, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.SplitSeq(string(data), "\n") {
			if m := flagRow.FindStringSubmatch(line); m != nil {
				flags++
				if !strings.Contains(string(mainSrc), `"`+m[1]+`"`) {
					t.Errorf("%s names flag --%s, which internal/operator/config.go does not define", doc, m[1])
				}
				if m[2] != "" && !strings.Contains(string(mainSrc), `"`+m[2]+`"`) {
					t.Errorf("%s names variable %s, which internal/operator/config.go does not read", doc, m[2])
				}
			}
			for _, m := range path.FindAllStringSubmatch(line, -1) {
				paths++
				p := strings.TrimSuffix(m[1], "/")
				if strings.ContainsAny(p, "<>*") {
					continue
				}
				if _, err := os.Stat(filepath.Join("..", "..", p)); err != nil {
					t.Errorf("%s names %s, which does not exist", doc, p)
				}
			}
		}
	}
	if flags < 10 || paths < 5 {
		t.Errorf("checked only %d flags and %d paths: has the docs' format changed?", flags, paths)
	}
}
