package netguard

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
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

func TestTestBedRangeIsTheOnlyWidening(t *testing.T) {
	bed, err := ParseTestBed("198.18.0.0/16, 198.19.0.0/16")
	if err != nil {
		t.Fatal(err)
	}
	for _, refused := range []string{"10.0.0.0/8", "198.16.0.0/12", "0.0.0.0/0", "192.168.0.0/16", "198.20.0.0/16", "nonsense"} {
		if _, err := ParseTestBed(refused); err == nil {
			t.Errorf("--test-bed-range %s accepted", refused)
		}
	}
	var dialled []string
	next := func(_ context.Context, _, address string) (net.Conn, error) {
		dialled = append(dialled, address)
		return nil, errors.New("not really dialled")
	}
	dial := LoopbackAnd(next, bed, nil)
	for _, address := range []string{"127.0.0.1:80", "198.18.1.7:11628", "198.19.0.1:443", "[::ffff:198.18.1.7]:80"} {
		if _, err := dial(context.Background(), "tcp", address); errors.As(err, new(*RefusedError)) {
			t.Errorf("%s refused", address)
		}
	}
	for _, address := range []string{"198.20.0.1:80", "10.0.0.1:80", "169.254.169.254:80", "example.org:443"} {
		_, err := dial(context.Background(), "tcp", address)
		if !errors.As(err, new(*RefusedError)) {
			t.Errorf("%s not refused: %v", address, err)
		} else if !strings.Contains(err.Error(), "198.18.0.0/16") {
			t.Errorf("the refusal does not say what is allowed: %v", err)
		}
	}
	if len(dialled) != 4 {
		t.Errorf("dialled %v", dialled)
	}
}
