//go:build wasip1 && hostabi

package internal

import (
	"encoding/binary"
	"unsafe"
)

// This file replaces the SDK's serde.go in the wasm build: the proxy-wasm
// encodings of header maps and property paths.
//
// A header map is the number of pairs (u32, little-endian), each pair's key
// and value sizes (u32 each), then every key and value in that order, each
// followed by a NUL.

// DeserializeMap reads a header map the host filled. The strings alias bs,
// which the host wrote into a buffer of proxy_on_memory_allocate for this
// one call and nothing writes afterwards: the map costs one allocation, the
// slice, instead of one per name and value (a dozen headers are two dozen
// allocations on every request otherwise). A map that does not fit in bs
// gives the pairs that do.
func DeserializeMap(bs []byte) [][2]string {
	if len(bs) < 4 {
		return nil
	}
	n := int(binary.LittleEndian.Uint32(bs))
	sizes := 4
	if n < 0 || n > (len(bs)-4)/8 {
		return nil
	}
	data := sizes + 8*n
	out := make([][2]string, 0, n)
	for i := 0; i < n; i++ {
		k := int(binary.LittleEndian.Uint32(bs[sizes+8*i:]))
		v := int(binary.LittleEndian.Uint32(bs[sizes+8*i+4:]))
		if k < 0 || v < 0 || data+k+1+v+1 > len(bs) {
			break
		}
		key := aliasString(bs[data : data+k])
		data += k + 1
		val := aliasString(bs[data : data+v])
		data += v + 1
		out = append(out, [2]string{key, val})
	}
	return out
}

// aliasString is b as a string without a copy; b must never change. (The
// SDK's module says go 1.19, before unsafe.String: a string header is the
// first two words of a slice header.)
func aliasString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return *(*string)(unsafe.Pointer(&b))
}

// SerializeMap writes a header map for the host.
func SerializeMap(ms [][2]string) []byte {
	size := 4
	for _, kv := range ms {
		size += 8 + len(kv[0]) + 1 + len(kv[1]) + 1
	}
	b := make([]byte, size)
	binary.LittleEndian.PutUint32(b, uint32(len(ms)))
	sizes, data := 4, 4+8*len(ms)
	for _, kv := range ms {
		binary.LittleEndian.PutUint32(b[sizes:], uint32(len(kv[0])))
		binary.LittleEndian.PutUint32(b[sizes+4:], uint32(len(kv[1])))
		sizes += 8
		data += copy(b[data:], kv[0]) + 1
		data += copy(b[data:], kv[1]) + 1
	}
	return b
}

// SerializePropertyPath writes a property path for the host: the segments,
// each followed by a NUL, without the last one's.
func SerializePropertyPath(path []string) []byte {
	if len(path) == 0 {
		return []byte{}
	}
	size := len(path) - 1
	for _, p := range path {
		size += len(p)
	}
	b := make([]byte, 0, size)
	for i, p := range path {
		if i > 0 {
			b = append(b, 0)
		}
		b = append(b, p...)
	}
	return b
}
