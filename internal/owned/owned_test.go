package owned

import (
	"context"
	"errors"
	"maps"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

var identity = map[string]string{"app.kubernetes.io/managed-by": "stellar-operator", "app.kubernetes.io/name": "stellar-peers"}

func configMap(labels, data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "stellar-peers", Labels: maps.Clone(labels),
		Annotations: map[string]string{"stellar.org/at": "now"}}, Data: data}
}

// The one rule, step by step: created when missing, updated when ours and different, never written
// when someone else's, also when the cache had not shown it yet (a race) or showed an older one.
func TestConfigMap(t *testing.T) {
	ctx := context.Background()
	desired := configMap(identity, map[string]string{"peers.json": "new"})
	foreign := configMap(map[string]string{"app": "web"}, map[string]string{"index.html": "hello"})
	ours := configMap(identity, map[string]string{"peers.json": "old"})
	for _, c := range []struct {
		name string
		// stored is what the API server holds; cached what the caller read (nil: nothing).
		stored, cached *corev1.ConfigMap
		wantWrote      bool
		wantConflict   bool
		wantData       map[string]string
	}{
		{"none yet", nil, nil, true, false, desired.Data},
		{"ours, different", ours, ours, true, false, desired.Data},
		{"ours, the same", configMap(identity, desired.Data), configMap(identity, desired.Data), false, false, desired.Data},
		{"ours, the cache behind", ours, configMap(identity, map[string]string{"peers.json": "older"}), true, false, desired.Data},
		{"ours, not in the cache yet", ours, nil, true, false, desired.Data},
		{"ours, a label removed by hand", configMap(map[string]string{"app.kubernetes.io/managed-by": "stellar-operator"}, desired.Data),
			configMap(map[string]string{"app.kubernetes.io/managed-by": "stellar-operator"}, desired.Data), true, false, desired.Data},
		{"someone else's", foreign, foreign, false, true, foreign.Data},
		{"someone else's, not in the cache yet", foreign, nil, false, true, foreign.Data},
		{"someone else's, created after the cache saw ours", foreign, ours, false, true, foreign.Data},
		{"ours, deleted since the cache saw it", nil, ours, true, false, desired.Data},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := fake.NewClientBuilder()
			if c.stored != nil {
				b = b.WithObjects(c.stored.DeepCopy())
			}
			cl := b.Build()
			cached := c.cached
			if cached != nil && c.stored == nil {
				cached = cached.DeepCopy()
				cached.ResourceVersion = "1"
			} else if cached != nil {
				// The cache's copy carries the stored version, or an older one.
				stored := &corev1.ConfigMap{}
				if err := cl.Get(ctx, client.ObjectKeyFromObject(desired), stored); err != nil {
					t.Fatal(err)
				}
				cached = cached.DeepCopy()
				cached.ResourceVersion = stored.ResourceVersion
				if !maps.Equal(cached.Data, stored.Data) || !maps.Equal(cached.Labels, stored.Labels) {
					cached.ResourceVersion = "1"
				}
			}
			_, wrote, err := Writer{Client: cl, Reader: cl, FieldOwner: "test"}.ConfigMap(ctx, desired, cached)
			if conflict := errors.As(err, new(*ConflictError)); conflict != c.wantConflict || (!conflict && err != nil) {
				t.Fatalf("error %v, want a conflict: %v", err, c.wantConflict)
			}
			if wrote != c.wantWrote {
				t.Errorf("wrote %v, want %v", wrote, c.wantWrote)
			}
			got := &corev1.ConfigMap{}
			if err := cl.Get(ctx, client.ObjectKeyFromObject(desired), got); err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got.Data, c.wantData) {
				t.Errorf("data %v, want %v", got.Data, c.wantData)
			}
			if !c.wantConflict && !maps.Equal(got.Labels, identity) {
				t.Errorf("labels %v, want the operator's %v", got.Labels, identity)
			}
			if c.wantConflict && (!maps.Equal(got.Labels, foreign.Labels) || len(got.OwnerReferences) != 0) {
				t.Errorf("someone else's ConfigMap changed: %+v", got.ObjectMeta)
			}
		})
	}
}
