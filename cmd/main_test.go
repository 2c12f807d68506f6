package main

import (
	"slices"
	"testing"
	"time"
)

func TestWatchedNamespaces(t *testing.T) {
	for in, want := range map[string][]string{
		"":               nil,
		"all":            nil,
		"stellar":        {"stellar"},
		" a, b ,,c ":     {"a", "b", "c"},
		"stellar,public": {"stellar", "public"},
	} {
		if got := watchedNamespaces(in); !slices.Equal(got, want) {
			t.Errorf("watchedNamespaces(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestEnvFallbacks(t *testing.T) {
	envErrors = nil
	t.Setenv("PEER_DISCOVERY_INTERVAL", "5s")
	if d := envDuration("PEER_DISCOVERY_INTERVAL", time.Minute); d != 5*time.Second {
		t.Errorf("got %s", d)
	}
	t.Setenv("PEER_DISCOVERY_INTERVAL", "soon")
	if d := envDuration("PEER_DISCOVERY_INTERVAL", time.Minute); d != time.Minute || len(envErrors) != 1 {
		t.Errorf("a bad duration must be reported: %s, %v", d, envErrors)
	}
	t.Setenv("LEADER_ELECT", "maybe")
	envBool("LEADER_ELECT")
	if len(envErrors) != 2 {
		t.Errorf("a bad boolean must be reported: %v", envErrors)
	}
	envErrors = nil
}
