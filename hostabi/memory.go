//go:build wasip1 && hostabi

package internal

import "unsafe"

// hostBuffers holds every buffer the host has asked for through
// proxy_on_memory_allocate during the host call in progress. Once the
// allocator returns, the only reference to a buffer is an integer address the
// host writes into our out-parameters, which the Go GC cannot see: without
// this list a collection triggered before the host call returns could reuse
// the memory and the SDK would read garbage (seen: empty header values).
var hostBuffers [][]byte

//go:wasmexport proxy_on_memory_allocate
func proxyOnMemoryAllocateExport(size uint32) uint32 {
	if size == 0 {
		size = 1 // &buf[0] needs one byte
	}
	buf := make([]byte, size)
	hostBuffers = append(hostBuffers, buf)
	return uint32(uintptr(unsafe.Pointer(&buf[0])))
}

// claimHostBuffer returns a Go pointer to the buffer the host filled at addr,
// or nil when the host handed back no buffer (or one we did not allocate), and
// forgets every buffer allocated during the call: the SDK keeps its own
// reference from here on, through the pointer returned.
func claimHostBuffer(addr, size uint32) *byte {
	var found *byte
	for i, buf := range hostBuffers {
		if found == nil && addr != 0 && uint32(uintptr(unsafe.Pointer(&buf[0]))) == addr && int(size) <= len(buf) {
			found = &buf[0]
		}
		hostBuffers[i] = nil
	}
	hostBuffers = hostBuffers[:0]
	return found
}

// releaseHostBuffers drops buffers the host allocated in a call that failed.
func releaseHostBuffers() {
	for i := range hostBuffers {
		hostBuffers[i] = nil
	}
	hostBuffers = hostBuffers[:0]
}
