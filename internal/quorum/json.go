package quorum

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
)

// The JSON of stellar-core's /quorum?transitive=true&fullkeys=true, which its check-quorum-intersection
// reads (src/herder/HerderUtils.cpp, parseQuorumMapFromJson): {"nodes": [{"node": "G...", "qset":
// {"t": 2, "v": ["G...", {"t": 1, "v": [...]}]}}]}, an empty qset for a node whose set is unknown.
type jsonMap struct {
	Nodes []jsonNode `json:"nodes"`
}

type jsonNode struct {
	Node string          `json:"node"`
	QSet json.RawMessage `json:"qset"`
}

type jsonQSet struct {
	T int               `json:"t"`
	V []json.RawMessage `json:"v"`
}

var keyRE = regexp.MustCompile(stellarv1alpha1.PublicKeyPattern)

// ParseJSON reads a quorum map in stellar-core's JSON, bounded like Validate.
func ParseJSON(data []byte) (Map, error) {
	var doc jsonMap
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("not a quorum map: %w", err)
	}
	if doc.Nodes == nil {
		return nil, errors.New(`not a quorum map: no "nodes" array`)
	}
	m := Map{}
	for i, n := range doc.Nodes {
		if !keyRE.MatchString(n.Node) {
			return nil, fmt.Errorf("nodes[%d]: %q is not a G... public key", i, n.Node)
		}
		if _, dup := m[n.Node]; dup {
			return nil, fmt.Errorf("nodes[%d]: %s is listed twice", i, n.Node)
		}
		q, err := parseQSet(n.QSet, 1)
		if err != nil {
			return nil, fmt.Errorf("nodes[%d] (%s): %w", i, n.Node, err)
		}
		m[n.Node] = q
	}
	return m, m.Validate()
}

// parseQSet reads one set; an empty object (or null) is an unknown one.
func parseQSet(raw json.RawMessage, depth int) (*QSet, error) {
	if len(raw) == 0 || string(raw) == "null" || string(raw) == "{}" {
		return nil, nil
	}
	if depth > MaxDepth {
		return nil, fmt.Errorf("quorum set nested deeper than %d levels", MaxDepth)
	}
	var j jsonQSet
	if err := json.Unmarshal(raw, &j); err != nil {
		return nil, fmt.Errorf("qset: %w", err)
	}
	q := &QSet{Threshold: j.T}
	for _, v := range j.V {
		var key string
		if err := json.Unmarshal(v, &key); err == nil {
			if !keyRE.MatchString(key) {
				return nil, fmt.Errorf("%q is not a G... public key", key)
			}
			q.Validators = append(q.Validators, key)
			continue
		}
		inner, err := parseQSet(v, depth+1)
		if err != nil {
			return nil, err
		}
		if inner == nil {
			return nil, errors.New("an inner set is empty")
		}
		q.InnerSets = append(q.InnerSets, *inner)
	}
	return q, nil
}

// JSON writes the map in stellar-core's JSON, nodes sorted.
func (m Map) JSON() ([]byte, error) {
	doc := jsonMap{Nodes: []jsonNode{}}
	for _, k := range sortedKeys(m) {
		var raw json.RawMessage = []byte("{}")
		if q := m[k]; q != nil {
			b, err := json.Marshal(q.jsonValue())
			if err != nil {
				return nil, err
			}
			raw = b
		}
		doc.Nodes = append(doc.Nodes, jsonNode{Node: k, QSet: raw})
	}
	return json.Marshal(doc)
}

func (q *QSet) jsonValue() map[string]any {
	v := make([]any, 0, len(q.Validators)+len(q.InnerSets))
	for _, k := range q.Validators {
		v = append(v, k)
	}
	for i := range q.InnerSets {
		v = append(v, q.InnerSets[i].jsonValue())
	}
	return map[string]any{"t": q.Threshold, "v": v}
}
