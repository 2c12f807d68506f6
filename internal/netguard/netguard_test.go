package netguard

import (
	"context"
	"errors"
	"net"
	"slices"
	"testing"
)

func TestLoopbackOnly(t *testing.T) {
	var dialled, refused []string
	next := func(_ context.Context, _, address string) (net.Conn, error) {
		dialled = append(dialled, address)
		return nil, errors.New("not really dialled")
	}
	dial := LoopbackOnly(next, func(address string) { refused = append(refused, address) })
	for _, address := range []string{"127.0.0.1:11628", "127.3.4.5:80", "[::1]:8080"} {
		if _, err := dial(context.Background(), "tcp", address); errors.As(err, new(*RefusedError)) {
			t.Errorf("%s refused", address)
		}
	}
	for _, address := range []string{"10.1.0.7:11628", "192.168.1.1:80", "[fd00::1]:80", "localhost:80", "example.org:443", "0.0.0.0:80"} {
		if _, err := dial(context.Background(), "tcp", address); !errors.As(err, new(*RefusedError)) {
			t.Errorf("%s not refused: %v", address, err)
		}
	}
	if !slices.Equal(dialled, []string{"127.0.0.1:11628", "127.3.4.5:80", "[::1]:8080"}) {
		t.Errorf("dialled %v", dialled)
	}
	if len(refused) != 6 {
		t.Errorf("told of %v", refused)
	}
}
