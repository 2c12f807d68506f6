// Package netguard keeps the operator's own outbound connections (to validators' agents, Horizon and
// Soroban RPC) on loopback where it runs against a simulated cluster or in tests: a pod IP there
// leads nowhere, or somewhere private that is none of the run's business.
package netguard

import (
	"context"
	"fmt"
	"net"
	"net/netip"
)

// DialFunc is net.Dialer.DialContext's shape.
type DialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// RefusedError is a dial the guard stopped.
type RefusedError struct{ Address string }

func (e *RefusedError) Error() string {
	return fmt.Sprintf("dial %s refused: only 127.0.0.0/8 and ::1 may be dialled here (--loopback-only-dials)", e.Address)
}

// LoopbackOnly wraps next so that it dials loopback IP addresses only. Any other target, names
// included (no lookup is made), is refused before a packet leaves, and refused is told.
func LoopbackOnly(next DialFunc, refused func(address string)) DialFunc {
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			host = address
		}
		if ip, err := netip.ParseAddr(host); err != nil || !ip.IsLoopback() {
			if refused != nil {
				refused(address)
			}
			return nil, &RefusedError{Address: address}
		}
		return next(ctx, network, address)
	}
}
