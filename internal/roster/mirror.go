package roster

import (
	"sync"

	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// mirror indexes, by namespace and name, the objects of one kind that the manager's cache holds. It is
// fed by the informer's own events and keeps the cache's pointers, so a reader walks one namespace
// without copying any object. Objects are read-only: copy before any change.
type mirror[T client.Object] struct {
	mu    sync.RWMutex
	items map[string]map[string]T
	// keep, when set, says which objects to mirror.
	keep func(T) bool
}

func newMirror[T client.Object](keep func(T) bool) *mirror[T] {
	return &mirror[T]{items: map[string]map[string]T{}, keep: keep}
}

// handler keeps the mirror up to date with the informer, then calls changed with the object's
// namespace: in that order, so a reader the change wakes always sees it.
func (m *mirror[T]) handler(changed func(ns string)) toolscache.ResourceEventHandler {
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { m.put(obj, changed) },
		UpdateFunc: func(_, obj any) { m.put(obj, changed) },
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			o, ok := obj.(T)
			if !ok || (m.keep != nil && !m.keep(o)) {
				return
			}
			m.mu.Lock()
			delete(m.items[o.GetNamespace()], o.GetName())
			if len(m.items[o.GetNamespace()]) == 0 {
				delete(m.items, o.GetNamespace())
			}
			m.mu.Unlock()
			changed(o.GetNamespace())
		},
	}
}

func (m *mirror[T]) put(obj any, changed func(ns string)) {
	o, ok := obj.(T)
	if !ok || (m.keep != nil && !m.keep(o)) {
		return
	}
	m.mu.Lock()
	ns := m.items[o.GetNamespace()]
	if ns == nil {
		ns = map[string]T{}
		m.items[o.GetNamespace()] = ns
	}
	ns[o.GetName()] = o
	m.mu.Unlock()
	changed(o.GetNamespace())
}

// get is the object of that namespace and name, and whether there is one.
func (m *mirror[T]) get(ns, name string) (T, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	o, ok := m.items[ns][name]
	return o, ok
}

// in is every object of a namespace, in no particular order.
func (m *mirror[T]) in(ns string) []T {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]T, 0, len(m.items[ns]))
	for _, o := range m.items[ns] {
		out = append(out, o)
	}
	return out
}

// namespaces are the namespaces holding at least one object.
func (m *mirror[T]) namespaces() []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]string, 0, len(m.items))
	for ns := range m.items {
		out = append(out, ns)
	}
	return out
}
