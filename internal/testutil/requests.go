package testutil

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
)

// Request is one request a client sent to the API server.
type Request struct {
	Method, Path, FieldManager string
	Watch                      bool
}

// IsWrite reports whether the request changes something.
func (r Request) IsWrite() bool { return r.Method != http.MethodGet && r.Method != http.MethodHead }

// VerbResource names a request as audit logs do: "list pods", "patch statefulsets", "update configmaps".
func (r Request) VerbResource() string {
	parts := strings.Split(strings.Trim(r.Path, "/"), "/")
	// /api/v1/namespaces/ns/pods/name/status or /apis/g/v/namespaces/ns/res/name
	skip := 2
	if parts[0] == "apis" {
		skip = 3
	}
	if len(parts) <= skip {
		return "discovery " + r.Path
	}
	parts = parts[skip:]
	if len(parts) > 2 && parts[0] == "namespaces" {
		parts = parts[2:]
	}
	resource, named := parts[0], len(parts) > 1
	if len(parts) > 2 {
		resource += "/" + parts[2]
	}
	verb := map[string]string{"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}[r.Method]
	if r.Method == http.MethodGet {
		switch {
		case r.Watch:
			verb = "watch"
		case named:
			verb = "get"
		default:
			verb = "list"
		}
	}
	return verb + " " + resource
}

// RequestCounter records the requests a client sends, so tests can prove what reaches the API server.
// Wrap a rest.Config with it: cfg.Wrap(counter.Wrap).
type RequestCounter struct {
	mu   sync.Mutex
	reqs []Request
}

// Wrap records every request passing through rt.
func (c *RequestCounter) Wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		q := req.URL.Query()
		c.mu.Lock()
		c.reqs = append(c.reqs, Request{Method: req.Method, Path: req.URL.Path, FieldManager: q.Get("fieldManager"), Watch: q.Get("watch") == "true"})
		c.mu.Unlock()
		return rt.RoundTrip(req)
	})
}

// Reset forgets what was recorded.
func (c *RequestCounter) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reqs = nil
}

// Count counts the recorded requests that keep accepts, by VerbResource. Watches and leader
// election are never counted.
func (c *RequestCounter) Count(keep func(Request) bool) map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for _, r := range c.reqs {
		if r.Watch || strings.Contains(r.Path, "/leases") || (keep != nil && !keep(r)) {
			continue
		}
		out[r.VerbResource()]++
	}
	return out
}

// Writes counts the writes, all of them or only those of the given field managers.
func (c *RequestCounter) Writes(fieldManagers ...string) map[string]int {
	return c.Count(func(r Request) bool {
		return r.IsWrite() && (len(fieldManagers) == 0 || slices.Contains(fieldManagers, r.FieldManager))
	})
}

// Reads counts GET and LIST requests.
func (c *RequestCounter) Reads() map[string]int {
	return c.Count(func(r Request) bool { return !r.IsWrite() })
}

// All counts every request but watches and leader election.
func (c *RequestCounter) All() map[string]int { return maps.Clone(c.Count(nil)) }

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Requests is a copy of what was recorded, in order.
func (c *RequestCounter) Requests() []Request {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.reqs)
}
