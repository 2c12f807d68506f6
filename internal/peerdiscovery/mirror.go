package peerdiscovery

import (
	"sync"

	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// mirror indexes, by namespace and name, the objects of one kind that the manager's cache holds. It is
// fed by the informer's own events and keeps the cache's pointers, so a pass walks it without copying
// any object, whatever the cache's namespace set-up. Objects are read-only: copy before any change.
type mirror[T client.Object] struct {
	mu    sync.RWMutex
	items map[string]T
	// keep, when set, says which objects to mirror.
	keep func(T) bool
}

func newMirror[T client.Object](keep func(T) bool) *mirror[T] {
	return &mirror[T]{items: map[string]T{}, keep: keep}
}

func mirrorKey(ns, name string) string { return ns + "/" + name }

// handler keeps the mirror up to date with the informer, then calls changed: in that order, so a pass
// the change triggers always sees it.
func (m *mirror[T]) handler(changed func()) toolscache.ResourceEventHandler {
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
			delete(m.items, mirrorKey(o.GetNamespace(), o.GetName()))
			m.mu.Unlock()
			changed()
		},
	}
}

func (m *mirror[T]) put(obj any, changed func()) {
	o, ok := obj.(T)
	if !ok || (m.keep != nil && !m.keep(o)) {
		return
	}
	m.mu.Lock()
	m.items[mirrorKey(o.GetNamespace(), o.GetName())] = o
	m.mu.Unlock()
	changed()
}

// get is the object of that namespace and name, and whether there is one.
func (m *mirror[T]) get(ns, name string) (T, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	o, ok := m.items[mirrorKey(ns, name)]
	return o, ok
}

// each calls fn for every object.
func (m *mirror[T]) each(fn func(T)) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, o := range m.items {
		fn(o)
	}
}
