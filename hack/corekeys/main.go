// Command corekeys reads, from stellar-core's own source at each release tag, the top-level
// configuration keys a release build parses and the start-up rules whose presence changes between
// releases, and writes one table per release line (major.minor) into internal/stellarcore/releases/.
//
//	go run ./hack/corekeys --src=/path/to/stellar-core.git --out=internal/stellarcore/releases
//
// A line's keys are those every tag of the line parses (a key added in a patch release is not
// assumed for the earlier patches), read from Config::processConfig in src/main/Config.cpp with the
// blocks under #ifdef BUILD_TESTS (and the other build options release images leave off) removed.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// oldest is the first release line the operator supports.
const oldest = 19

// Build options that release images do not enable: what they guard is not parsed there.
var offInRelease = []string{"BUILD_TESTS", "BEST_OFFER_DEBUGGING", "ENABLE_NEXT_PROTOCOL_VERSION_UNSAFE_FOR_PRODUCTION"}

var (
	tagPattern = regexp.MustCompile(`^v(\d+)\.(\d+)\.(\d+)$`)
	// Keys appear as `item.first == "KEY"` (up to v21) or as `{"KEY", [&]() ...}` entries (v22 on).
	keyPattern = regexp.MustCompile(`item\.first\s*==\s*"([A-Z][A-Z0-9_]*)"|\{\s*"([A-Z][A-Z0-9_]*)"\s*,`)
	// Upgrade parameters appear as parseOptionalParam<T>(retMap, "name") or retMap.find("name").
	upgradeParamPattern = regexp.MustCompile(`(?:parseOptionalParam<[a-z0-9_]+>\(\s*retMap,\s*|retMap\.find\()"([a-z]+)"`)
)

// commandHandler is where upgrades?mode=set reads its parameters.
const commandHandler = "src/main/CommandHandler.cpp"

// A rule is a start-up behaviour found by a text stellar-core prints or parses at a tag.
type rule struct {
	name, file, text, meaning string
}

var rules = []rule{
	{"requires-deprecated-sql-ledger-state", "src/main/Config.cpp", "DEPRECATED_SQL_LEDGER_STATE not set",
		"start fails unless DEPRECATED_SQL_LEDGER_STATE (or EXPERIMENTAL_BUCKETLIST_DB) is set"},
	{"refuses-low-only-quorum", "src/main/Config.cpp", "level higher than LOW",
		"a generated quorum in which no validator is above LOW quality is refused"},
}

type tag struct {
	name                string
	major, minor, patch int
	commit              string
}

func main() {
	src := flag.String("src", os.Getenv("STELLAR_CORE_SRC"), "a git directory of stellar/stellar-core with its release tags")
	out := flag.String("out", "internal/stellarcore/releases", "directory of the tables")
	flag.Parse()
	if *src == "" {
		fail(fmt.Errorf("give --src (or STELLAR_CORE_SRC): a clone of https://github.com/stellar/stellar-core"))
	}
	tags, err := releaseTags(*src)
	if err != nil {
		fail(err)
	}
	lines := map[string][]tag{}
	for _, t := range tags {
		line := fmt.Sprintf("v%d.%d", t.major, t.minor)
		lines[line] = append(lines[line], t)
	}
	for _, line := range slices.Sorted(maps.Keys(lines)) {
		if err := writeLine(*src, *out, line, lines[line]); err != nil {
			fail(err)
		}
	}
}

func releaseTags(src string) ([]tag, error) {
	text, err := git(src, "tag", "--list", "v*")
	if err != nil {
		return nil, err
	}
	var tags []tag
	for name := range strings.FieldsSeq(text) {
		m := tagPattern.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		t := tag{name: name}
		t.major, _ = strconv.Atoi(m[1])
		t.minor, _ = strconv.Atoi(m[2])
		t.patch, _ = strconv.Atoi(m[3])
		if t.major < oldest {
			continue
		}
		commit, err := git(src, "rev-parse", name+"^{commit}")
		if err != nil {
			return nil, err
		}
		t.commit = strings.TrimSpace(commit)
		tags = append(tags, t)
	}
	slices.SortFunc(tags, func(a, b tag) int {
		return (a.major-b.major)*1_000_000 + (a.minor-b.minor)*1_000 + (a.patch - b.patch)
	})
	return tags, nil
}

// writeLine writes the keys every tag of the line parses and the rules every tag of it has.
func writeLine(src, out, line string, tags []tag) error {
	var common, params map[string]bool
	paramsAt := ""
	ruleAt := map[string][]string{}
	for _, t := range tags {
		config, err := git(src, "show", t.name+":src/main/Config.cpp")
		if err != nil {
			return err
		}
		keys := matches(releaseBody(config, "Config::processConfig("), keyPattern)
		if len(keys) == 0 {
			return fmt.Errorf("%s: found no keys in Config::processConfig", t.name)
		}
		common = intersect(common, keys)
		handler, err := git(src, "show", t.name+":"+commandHandler)
		if err != nil {
			return err
		}
		upgradeParams := matches(releaseBody(handler, "CommandHandler::upgrades("), upgradeParamPattern)
		if len(upgradeParams) == 0 {
			return fmt.Errorf("%s: found no upgrade parameters in CommandHandler::upgrades", t.name)
		}
		params = intersect(params, upgradeParams)
		paramsAt = fmt.Sprintf("%s %s:%d", t.name, commandHandler, lineOf(handler, "CommandHandler::upgrades("))
		for _, r := range rules {
			text, err := git(src, "show", t.name+":"+r.file)
			if err != nil {
				return err
			}
			if n := lineOf(text, r.text); n > 0 {
				ruleAt[r.name] = append(ruleAt[r.name], fmt.Sprintf("%s %s:%d", t.name, r.file, n))
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# stellar-core %s: generated by hack/corekeys from stellar/stellar-core; do not edit.\n", line)
	b.WriteString("# Tags read (tag commit):\n")
	for _, t := range tags {
		fmt.Fprintf(&b, "#   %s %s\n", t.name, t.commit)
	}
	b.WriteString("# Rules every tag of the line has, where it was read:\n")
	for _, r := range rules {
		if at := ruleAt[r.name]; len(at) == len(tags) {
			fmt.Fprintf(&b, "@rule %s %s # %s\n", r.name, at[len(at)-1], r.meaning)
		} else if len(at) > 0 {
			return fmt.Errorf("%s: rule %s holds at %d of %d tags: split the line", line, r.name, len(at), len(tags))
		}
	}
	b.WriteString("# Parameters upgrades?mode=set takes at every tag of the line (CommandHandler::upgrades, release build):\n")
	fmt.Fprintf(&b, "@upgrade-params %s %s\n", paramsAt, strings.Join(slices.Sorted(maps.Keys(params)), " "))
	b.WriteString("# Top-level keys every tag of the line parses (Config::processConfig, release build):\n")
	for _, k := range slices.Sorted(maps.Keys(common)) {
		b.WriteString(k + "\n")
	}
	path := filepath.Join(out, line+".txt")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return err
	}
	fmt.Printf("%s: %d tags, %d keys\n", path, len(tags), len(common))
	return nil
}

// releaseBody is the body of the function whose definition starts with header, without the blocks
// of build options that release images leave off.
func releaseBody(source, header string) []string {
	var body []string
	in := false
	// skip[i] says whether the i-th open #if block's current branch is compiled out.
	var skip []bool
	sc := bufio.NewScanner(strings.NewReader(source))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, header):
			in = true
			continue
		case !in:
			continue
		case line == "}":
			return body
		}
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, "#if"):
			skip = append(skip, offBranch(trimmed))
			continue
		case strings.HasPrefix(trimmed, "#else") && len(skip) > 0:
			skip[len(skip)-1] = !skip[len(skip)-1]
			continue
		case strings.HasPrefix(trimmed, "#endif") && len(skip) > 0:
			skip = skip[:len(skip)-1]
			continue
		}
		if !slices.Contains(skip, true) {
			body = append(body, line)
		}
	}
	return body
}

// matches are the names pattern's groups find in lines.
func matches(lines []string, pattern *regexp.Regexp) map[string]bool {
	found := map[string]bool{}
	for _, line := range lines {
		for _, m := range pattern.FindAllStringSubmatch(line, -1) {
			found[strings.Join(m[1:], "")] = true
		}
	}
	return found
}

// intersect keeps of common (nil: everything) what next has too.
func intersect(common, next map[string]bool) map[string]bool {
	if common == nil {
		return maps.Clone(next)
	}
	for k := range common {
		if !next[k] {
			delete(common, k)
		}
	}
	return common
}

// offBranch says whether the first branch of an #if line is compiled out of a release build.
func offBranch(directive string) bool {
	for _, opt := range offInRelease {
		if directive == "#ifdef "+opt || directive == "#if defined("+opt+")" {
			return true
		}
	}
	return false
}

func lineOf(text, needle string) int {
	for i, l := range strings.Split(text, "\n") {
		if strings.Contains(l, needle) {
			return i + 1
		}
	}
	return 0
}

func git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"--git-dir=" + dir}, args...)...)
	outp, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return string(outp), nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "corekeys:", err)
	os.Exit(1)
}
