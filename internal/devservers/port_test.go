package devservers

import (
	"net"
	"strconv"
	"testing"
)

func TestFreePort(t *testing.T) {
	lo, hi := portRange()
	seen := map[int]bool{}
	for range 20 {
		p, err := FreePort()
		if err != nil {
			t.Fatal(err)
		}
		if p < lo || p > hi {
			t.Errorf("port %d outside [%d, %d], below the ephemeral range", p, lo, hi)
		}
		seen[p] = true
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			t.Fatalf("port %d is not free: %v", p, err)
		}
		ln.Close()
	}
	if len(seen) < 10 {
		t.Errorf("20 choices gave only %d distinct ports", len(seen))
	}
}

// A port in use is not chosen.
func TestPortFree(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if portFree(ln.Addr().(*net.TCPAddr).Port) {
		t.Error("a bound port reported free")
	}
}
