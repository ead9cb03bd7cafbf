package wasmhost

import (
	"encoding/binary"
	"errors"
	"strings"
)

// A header map crosses the ABI serialized as: the number of pairs (u32 LE),
// then for each pair its name size and value size (u32 LE each), then for
// each pair its name and its value, each followed by a NUL byte that the
// sizes do not count.

var errBadPairs = errors.New("malformed header map")

// encodePairs serializes pairs in the ABI's header-map format.
func encodePairs(pairs [][2]string) []byte {
	size := 4
	for _, p := range pairs {
		size += 8 + len(p[0]) + 1 + len(p[1]) + 1
	}
	b := make([]byte, 4, size)
	binary.LittleEndian.PutUint32(b, uint32(len(pairs)))
	for _, p := range pairs {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(p[0])))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(p[1])))
	}
	for _, p := range pairs {
		b = append(b, p[0]...)
		b = append(b, 0)
		b = append(b, p[1]...)
		b = append(b, 0)
	}
	return b
}

// decodePairs parses a serialized header map; a module that sends a
// truncated or inconsistent one gets an error, never a panic.
func decodePairs(b []byte) ([][2]string, error) {
	if len(b) == 0 {
		return nil, nil // some hosts and modules pass an empty map as no bytes
	}
	if len(b) < 4 {
		return nil, errBadPairs
	}
	n := uint64(binary.LittleEndian.Uint32(b))
	if 4+8*n > uint64(len(b)) {
		return nil, errBadPairs
	}
	sizes, data := b[4:4+8*n], b[4+8*n:]
	pairs := make([][2]string, n)
	for i := range pairs {
		for j := range 2 {
			size := uint64(binary.LittleEndian.Uint32(sizes[8*i+4*j:]))
			if size+1 > uint64(len(data)) || data[size] != 0 {
				return nil, errBadPairs
			}
			pairs[i][j] = string(data[:size])
			data = data[size+1:]
		}
	}
	if len(data) != 0 {
		return nil, errBadPairs
	}
	return pairs, nil
}

// headerMap is one of a stream's header maps. Names are compared in lower
// case, as Envoy stores them.
type headerMap [][2]string

func (m headerMap) get(name string) (string, bool) {
	name = strings.ToLower(name)
	for _, p := range m {
		if p[0] == name {
			return p[1], true
		}
	}
	return "", false
}

func (m *headerMap) add(name, value string) {
	*m = append(*m, [2]string{strings.ToLower(name), value})
}

// replace sets name to value: the first pair of that name takes the value,
// any later ones go; a missing name is added.
func (m *headerMap) replace(name, value string) {
	name = strings.ToLower(name)
	out := (*m)[:0]
	found := false
	for _, p := range *m {
		if p[0] == name {
			if found {
				continue
			}
			p[1], found = value, true
		}
		out = append(out, p)
	}
	*m = out
	if !found {
		m.add(name, value)
	}
}

// remove drops every pair of that name; removing a missing name is no error.
func (m *headerMap) remove(name string) {
	name = strings.ToLower(name)
	out := (*m)[:0]
	for _, p := range *m {
		if p[0] != name {
			out = append(out, p)
		}
	}
	*m = out
}

// clonePairs copies pairs, with names in lower case, so that neither the
// caller nor the module can change the other's slice.
func clonePairs(pairs [][2]string) headerMap {
	out := make(headerMap, len(pairs))
	for i, p := range pairs {
		out[i] = [2]string{strings.ToLower(p[0]), p[1]}
	}
	return out
}
