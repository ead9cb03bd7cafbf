package authn

import "unsafe"

// sameToken reports a == b. Go's wasm runtime compares strings a byte at a
// time (internal/bytealg/equal_wasm.s), which made the cache hit's full
// comparison of the token (about 700 bytes) over a quarter of the filter's
// work on a cached request in V8; eight bytes at a time (unaligned loads
// are allowed in Wasm) cut that by about 8.
func sameToken(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) == 0 {
		return true
	}
	pa, pb := unsafe.Pointer(unsafe.StringData(a)), unsafe.Pointer(unsafe.StringData(b))
	i := 0
	for ; i+8 <= len(a); i += 8 {
		if *(*uint64)(unsafe.Add(pa, i)) != *(*uint64)(unsafe.Add(pb, i)) {
			return false
		}
	}
	return a[i:] == b[i:]
}
