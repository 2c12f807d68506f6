// Package netguard keeps the operator's own outbound connections (to validators' agents, Horizon and
// Soroban RPC) on loopback where it runs against a simulated cluster or in tests: a pod IP there
// leads nowhere, or somewhere private that is none of the run's business. On a test bed with real
// pods, the guard may also admit that test bed's own range, which must lie in TestBedRange.
package netguard

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// TestBedRange is 198.18.0.0/15, reserved for network test beds (RFC 2544): the only addresses
// besides loopback the guard can be told to admit, so that it can never open a way to a real network.
var TestBedRange = netip.MustParsePrefix("198.18.0.0/15")

// DialFunc is net.Dialer.DialContext's shape.
type DialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// RefusedError is a dial the guard stopped.
type RefusedError struct {
	Address string
	Allowed []netip.Prefix
}

func (e *RefusedError) Error() string {
	allowed := []string{"127.0.0.0/8", "::1"}
	for _, p := range e.Allowed {
		allowed = append(allowed, p.String())
	}
	return fmt.Sprintf("dial %s refused: only %s may be dialled here (--loopback-only-dials)", e.Address, strings.Join(allowed, ", "))
}

// LoopbackOnly wraps next so that it dials loopback IP addresses only. Any other target, names
// included (no lookup is made), is refused before a packet leaves, and refused is told.
func LoopbackOnly(next DialFunc, refused func(address string)) DialFunc {
	return LoopbackAnd(next, nil, refused)
}

// LoopbackAnd is LoopbackOnly admitting the test bed ranges too; each must lie in TestBedRange
// (ParseTestBed checks it).
func LoopbackAnd(next DialFunc, testBed []netip.Prefix, refused func(address string)) DialFunc {
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			host = address
		}
		ip, err := netip.ParseAddr(host)
		if err != nil || (!ip.IsLoopback() && !inAny(ip, testBed)) {
			if refused != nil {
				refused(address)
			}
			return nil, &RefusedError{Address: address, Allowed: testBed}
		}
		return next(ctx, network, address)
	}
}

// ParseTestBed reads comma-separated ranges that must each lie inside TestBedRange.
func ParseTestBed(value string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for item := range strings.SplitSeq(value, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		p, err := netip.ParsePrefix(item)
		if err != nil {
			return nil, fmt.Errorf("--test-bed-range %q: %w", item, err)
		}
		p = p.Masked()
		if !TestBedRange.Contains(p.Addr()) || p.Bits() < TestBedRange.Bits() {
			return nil, fmt.Errorf("--test-bed-range %s: not inside %s, the range reserved for test beds", p, TestBedRange)
		}
		out = append(out, p)
	}
	return out, nil
}

func inAny(ip netip.Addr, prefixes []netip.Prefix) bool {
	for _, p := range prefixes {
		if p.Contains(ip.Unmap()) {
			return true
		}
	}
	return false
}
