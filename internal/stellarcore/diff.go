package stellarcore

import (
	"maps"
	"reflect"
	"slices"

	"github.com/BurntSushi/toml"
)

// ChangedKeys names what differs between two base configurations, as stellar-core's keys: a plain
// key (NETWORK_PASSPHRASE), a table's entry (HISTORY.local, QUORUM_SET) or an array of tables
// (VALIDATORS). It says why a validator restarts for a new base configuration; nil when the two read
// the same or either does not parse.
func ChangedKeys(before, after string) []string {
	var b, a map[string]any
	if _, err := toml.Decode(before, &b); err != nil {
		return nil
	}
	if _, err := toml.Decode(after, &a); err != nil {
		return nil
	}
	var out []string
	for _, key := range slices.Sorted(maps.Keys(union(b, a))) {
		bt, bIsTable := b[key].(map[string]any)
		at, aIsTable := a[key].(map[string]any)
		if bIsTable && aIsTable && key == keyHistory {
			// One archive of several changed: name it.
			for _, name := range slices.Sorted(maps.Keys(union(bt, at))) {
				if !reflect.DeepEqual(bt[name], at[name]) {
					out = append(out, key+"."+name)
				}
			}
			continue
		}
		if !reflect.DeepEqual(b[key], a[key]) {
			out = append(out, key)
		}
	}
	return out
}

func union(a, b map[string]any) map[string]any {
	out := maps.Clone(a)
	if out == nil {
		out = map[string]any{}
	}
	maps.Copy(out, b)
	return out
}
