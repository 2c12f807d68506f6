// Package owned is the one writer of the ConfigMaps the operator owns in a namespace (stellar-peers,
// stellar-turns, stellar-votes, the stellar.toml fragments), under one rule: a ConfigMap of that name
// that does not carry the operator's labels is someone else's, and is never changed. The first write
// is a create, so an object created a moment before, which the cache has not shown yet, is found
// (AlreadyExists) and left alone instead of taken over.
package owned

import (
	"context"
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/stellar-k8s/stellar-operator/internal/resources"
)

// Writer writes through Client, reads past the cache through Reader, as FieldOwner.
type Writer struct {
	Client     client.Client
	Reader     client.Reader
	FieldOwner string
}

// ConflictError: a ConfigMap the operator would write exists and is not the operator's.
type ConflictError struct{ Namespace, Name string }

func (e *ConflictError) Error() string {
	return fmt.Sprintf("ConfigMap %s/%s exists and is not the operator's: it is left alone; remove or rename it and the operator "+
		"writes its own", e.Namespace, e.Name)
}

// Ours says whether live is the operator's: it carries the operator's managed-by label. A write
// restores the other labels of its kind, so a hand edit of those is repaired, not mistaken for
// someone else's object.
func Ours(live *corev1.ConfigMap) bool {
	return live.Labels[resources.LabelManagedBy] == resources.ManagedBy
}

// ConfigMap brings the ConfigMap named by desired to desired's data, with desired's labels as
// its labels and desired's annotations set at each write. live is what the caller read of it (from
// the cache), nil when it saw none. Nothing is sent when the data is already there. A create that
// meets an object, or an update that meets a newer one or none, reads it through reader and decides
// again, once. It returns the ConfigMap as the API server has it and whether this call wrote it; a
// ConfigMap that is not the operator's gives a *ConflictError and is not written.
func (w Writer) ConfigMap(ctx context.Context, desired, live *corev1.ConfigMap) (*corev1.ConfigMap, bool, error) {
	for attempt := 0; ; attempt++ {
		written, err := w.writeOnce(ctx, desired, live)
		// Someone came between the read and the write: created one, changed it, or deleted it.
		retry := attempt == 0 && (apierrors.IsAlreadyExists(err) || apierrors.IsConflict(err) || (live != nil && apierrors.IsNotFound(err)))
		if !retry {
			if err != nil || written == nil {
				return live, false, err
			}
			return written, true, nil
		}
		fresh := &corev1.ConfigMap{}
		if err := w.Reader.Get(ctx, client.ObjectKeyFromObject(desired), fresh); apierrors.IsNotFound(err) {
			fresh = nil
		} else if err != nil {
			return nil, false, fmt.Errorf("read %s after a conflict: %w", desired.Name, err)
		}
		live = fresh
	}
}

// writeOnce creates or updates the ConfigMap, or returns nil when nothing needs writing.
func (w Writer) writeOnce(ctx context.Context, desired, live *corev1.ConfigMap) (*corev1.ConfigMap, error) {
	if live == nil {
		cm := desired.DeepCopy()
		if err := w.Client.Create(ctx, cm, client.FieldOwner(w.FieldOwner)); err != nil {
			return nil, err
		}
		return cm, nil
	}
	if !Ours(live) {
		return nil, &ConflictError{Namespace: live.Namespace, Name: live.Name}
	}
	if maps.Equal(live.Data, desired.Data) && len(live.BinaryData) == 0 && hasAll(live.Labels, desired.Labels) {
		return nil, nil
	}
	cm := live.DeepCopy()
	cm.Data, cm.BinaryData = desired.Data, nil
	if cm.Labels == nil {
		cm.Labels = map[string]string{}
	}
	maps.Copy(cm.Labels, desired.Labels)
	if cm.Annotations == nil {
		cm.Annotations = map[string]string{}
	}
	maps.Copy(cm.Annotations, desired.Annotations)
	if err := w.Client.Update(ctx, cm, client.FieldOwner(w.FieldOwner)); err != nil {
		return nil, err
	}
	return cm, nil
}

func hasAll(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}
