package devservers

import (
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// FreePort returns a port on 127.0.0.1 that was free, for TCP and UDP, a
// moment ago, for a server started later (Envoy binds it from its
// configuration).
//
// The port is chosen below the kernel's ephemeral range: a port the kernel
// handed out for "127.0.0.1:0" goes back to the pool it takes the source
// ports of outgoing connections from, so any process connecting anywhere
// (a test's client, another test process) could take it before the server
// binds it. Below the range, only another FreePort caller can, and the
// choice is random over thousands of ports.
func FreePort() (int, error) {
	lo, hi := portRange()
	if lo > hi {
		return ephemeralPort()
	}
	for range 100 {
		p := lo + rand.IntN(hi-lo+1)
		if portFree(p) {
			return p, nil
		}
	}
	return ephemeralPort()
}

// portRange is where FreePort chooses: from 10000 up to just below the
// ephemeral range (net.ipv4.ip_local_port_range; Linux's default starts at
// 32768).
func portRange() (lo, hi int) {
	lo, hi = 10000, 32767
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if start, err := strconv.Atoi(f[0]); err == nil {
				hi = start - 1
			}
		}
	}
	return lo, hi
}

// portFree reports whether port can be bound on 127.0.0.1 for TCP and UDP.
func portFree(port int) bool {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	defer ln.Close()
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return false
	}
	pc.Close()
	return true
}

// ephemeralPort is a port the kernel chooses (the fallback).
func ephemeralPort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	addr, ok := ln.Addr().(*net.TCPAddr)
	if !ok {
		return 0, errors.New("devservers: listener has no TCP address")
	}
	return addr.Port, nil
}
