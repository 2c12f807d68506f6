package remote

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/stellar-k8s/stellar-operator/internal/owned"
	"github.com/stellar-k8s/stellar-operator/internal/resources"
)

// Saved is what is kept of one cluster across restarts of the operator: its members as last read,
// and when that was.
type Saved struct {
	Members  []Member  `json:"members"`
	LastRead time.Time `json:"lastRead"`
}

// Store keeps every cluster's last known members where a restarted operator, or a new leader, finds
// them: without it, a cluster that does not answer while the operator starts would have no members,
// and every generated quorum here would shrink.
type Store interface {
	Load(ctx context.Context) (map[string]Saved, error)
	Save(ctx context.Context, clusters map[string]Saved) error
}

// The ConfigMap the store writes, in the operator's own namespace.
const (
	MembersConfigMapName = "stellar-remote-members"
	KeyClustersJSON      = "clusters.json"
	// maxSavedBytes keeps the ConfigMap under the API server's 1 MiB object limit.
	maxSavedBytes = 900 << 10
)

// ConfigMapStore keeps the members in the ConfigMap stellar-remote-members of Namespace, through the
// one writer of owned ConfigMaps.
type ConfigMapStore struct {
	Writer    owned.Writer
	Namespace string
}

// Load reads what was saved; nothing saved yet is no error. A ConfigMap of that name that is not the
// operator's is: its content is not trusted as members.
func (s ConfigMapStore) Load(ctx context.Context) (map[string]Saved, error) {
	cm := &corev1.ConfigMap{}
	err := s.Writer.Reader.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: MembersConfigMapName}, cm)
	switch {
	case apierrors.IsNotFound(err):
		return map[string]Saved{}, nil
	case err != nil:
		return nil, err
	case !owned.Ours(cm):
		return nil, &owned.ConflictError{Namespace: s.Namespace, Name: MembersConfigMapName}
	}
	saved := map[string]Saved{}
	if err := json.Unmarshal([]byte(cm.Data[KeyClustersJSON]), &saved); err != nil {
		return nil, fmt.Errorf("%s: %w", MembersConfigMapName, err)
	}
	return saved, nil
}

// Save writes the clusters' members when they differ from what is there.
func (s ConfigMapStore) Save(ctx context.Context, clusters map[string]Saved) error {
	data, err := json.Marshal(clusters)
	if err != nil {
		return err
	}
	if len(data) > maxSavedBytes {
		return fmt.Errorf("%d bytes of members are more than a ConfigMap holds: not saved", len(data))
	}
	live := &corev1.ConfigMap{}
	switch err := s.Writer.Reader.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: MembersConfigMapName}, live); {
	case apierrors.IsNotFound(err):
		live = nil
	case err != nil:
		return err
	}
	desired := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: MembersConfigMapName,
		Labels: resources.NamespaceConfigMapLabels(MembersConfigMapName, "remote-clusters")}, Data: map[string]string{KeyClustersJSON: string(data)}}
	_, _, err = s.Writer.ConfigMap(ctx, desired, live)
	return err
}
