// Package wasmfile reads the parts of a WebAssembly binary module that the
// project's tools and tests look at: section sizes, imports and exports,
// function body sizes with their names (the "name" custom section), and data
// segments. It reads; it never rewrites a module.
package wasmfile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// Module is what Parse found in a binary module.
type Module struct {
	Sections []Section
	Imports  []Import
	Exports  []string
	Funcs    []Func // defined functions, in index order
	Data     []Segment
}

// Section is one section: its name ("code", "data", or a custom section's
// own name) and its size in bytes, header included.
type Section struct {
	Name string
	Size int
}

// Import is one imported item.
type Import struct {
	Module, Name string
	Kind         byte // 0 function, 1 table, 2 memory, 3 global
}

// Func is one defined function: its name from the name section ("" when
// the module has none) and the size of its body in the code section.
type Func struct {
	Name string
	Size int
}

// Segment is one active data segment: its constant offset (when it has one),
// its size and its bytes (a slice of the module).
type Segment struct {
	Offset uint64
	Size   int
	Bytes  []byte
}

var sectionNames = [...]string{"custom", "type", "import", "function", "table", "memory", "global",
	"export", "start", "element", "code", "data", "datacount"}

// HasImport reports whether the module imports module.name.
func (m *Module) HasImport(module, name string) bool {
	for _, im := range m.Imports {
		if im.Module == module && im.Name == name {
			return true
		}
	}
	return false
}

// Parse reads a binary module.
func Parse(b []byte) (*Module, error) {
	if len(b) < 8 || string(b[:4]) != "\x00asm" || binary.LittleEndian.Uint32(b[4:8]) != 1 {
		return nil, errors.New("not a WebAssembly binary module (version 1)")
	}
	m := &Module{}
	r := &reader{b: b, off: 8}
	importedFuncs := 0
	var funcNames map[uint32]string
	for !r.done() {
		start := r.off
		id := r.byte()
		size := int(r.u32())
		if r.err != nil || size > len(r.b)-r.off {
			return nil, fmt.Errorf("section at %d: truncated", start)
		}
		body := &reader{b: r.b[:r.off+size], off: r.off}
		r.off += size
		name := "unknown"
		if int(id) < len(sectionNames) {
			name = sectionNames[id]
		}
		switch id {
		case 0:
			name = body.name()
			if name == "name" {
				funcNames = parseFuncNames(body)
			}
		case 2:
			n := body.u32()
			for i := uint32(0); i < n && body.err == nil; i++ {
				im := Import{Module: body.name(), Name: body.name(), Kind: body.byte()}
				switch im.Kind {
				case 0:
					body.u32()
					importedFuncs++
				case 1:
					body.byte()
					body.limits()
				case 2:
					body.limits()
				case 3:
					body.byte()
					body.byte()
				}
				m.Imports = append(m.Imports, im)
			}
		case 7:
			n := body.u32()
			for i := uint32(0); i < n && body.err == nil; i++ {
				m.Exports = append(m.Exports, body.name())
				body.byte()
				body.u32()
			}
		case 10:
			n := body.u32()
			for i := uint32(0); i < n && body.err == nil; i++ {
				sz := int(body.u32())
				body.off += sz
				m.Funcs = append(m.Funcs, Func{Size: sz})
			}
		case 11:
			n := body.u32()
			for i := uint32(0); i < n && body.err == nil; i++ {
				seg := Segment{}
				switch flags := body.u32(); flags {
				case 0, 2:
					if flags == 2 {
						body.u32()
					}
					seg.Offset = body.constExpr()
				case 1:
				default:
					body.err = fmt.Errorf("data segment flags %d", flags)
				}
				sz := int(body.u32())
				if sz > len(body.b)-body.off {
					body.fail()
					break
				}
				seg.Size, seg.Bytes = sz, body.b[body.off:body.off+sz]
				body.off += sz
				m.Data = append(m.Data, seg)
			}
		}
		if body.err != nil {
			return nil, fmt.Errorf("%s section: %w", name, body.err)
		}
		m.Sections = append(m.Sections, Section{Name: name, Size: r.off - start})
	}
	for i := range m.Funcs {
		m.Funcs[i].Name = funcNames[uint32(i+importedFuncs)]
	}
	return m, r.err
}

// parseFuncNames reads the function-names subsection (id 1) of a name
// section.
func parseFuncNames(r *reader) map[uint32]string {
	names := map[uint32]string{}
	for !r.done() && r.err == nil {
		id := r.byte()
		size := int(r.u32())
		end := r.off + size
		if id == 1 {
			n := r.u32()
			for i := uint32(0); i < n && r.err == nil; i++ {
				idx := r.u32()
				names[idx] = r.name()
			}
		}
		r.off = end
	}
	return names
}

// PackageOf is the import path of the package a Go function belongs to,
// from the name the Go linker writes in a wasm module's name section, where
// '/' in import paths reads '_' ("crypto_internal_fips140_bigmod.(*Nat).Exp",
// "github.com_tidwall_gjson.Get"). The package ends at the first '.' that
// does not start a domain's top-level label ("github.com_..."); underscores
// before it are turned back into slashes, which is right for every package
// whose own name has none. A name without a '.' is its own group.
func PackageOf(sym string) string {
	end := -1
	for i := 0; i < len(sym); i++ {
		if sym[i] != '.' {
			continue
		}
		if tld := sym[i+1:]; hasDomainLabel(tld) {
			continue
		}
		end = i
		break
	}
	if end < 0 {
		return "(" + sym + ")"
	}
	return strings.ReplaceAll(sym[:end], "_", "/")
}

// hasDomainLabel reports whether s starts with a top-level domain label of
// a module path, followed by the rest of the path.
func hasDomainLabel(s string) bool {
	for _, tld := range []string{"com_", "org_", "net_", "io_", "in_", "dev_"} {
		if strings.HasPrefix(s, tld) {
			return true
		}
	}
	return false
}

type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) done() bool { return r.off >= len(r.b) }

func (r *reader) byte() byte {
	if r.err != nil || r.off >= len(r.b) {
		r.fail()
		return 0
	}
	c := r.b[r.off]
	r.off++
	return c
}

func (r *reader) fail() {
	if r.err == nil {
		r.err = errors.New("truncated")
	}
}

// u32 reads an unsigned LEB128 of at most 5 bytes.
func (r *reader) u32() uint32 {
	var v uint32
	for shift := 0; shift < 35; shift += 7 {
		c := r.byte()
		v |= uint32(c&0x7f) << shift
		if c&0x80 == 0 {
			return v
		}
	}
	r.fail()
	return 0
}

// s64 reads a signed LEB128.
func (r *reader) s64() int64 {
	var v int64
	shift := 0
	for {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		v |= int64(c&0x7f) << shift
		shift += 7
		if c&0x80 == 0 {
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			return v
		}
		if shift >= 70 {
			r.fail()
			return 0
		}
	}
}

func (r *reader) name() string {
	n := int(r.u32())
	if r.err != nil || n > len(r.b)-r.off {
		r.fail()
		return ""
	}
	s := string(r.b[r.off : r.off+n])
	r.off += n
	return s
}

func (r *reader) limits() {
	if flags := r.byte(); flags&1 != 0 {
		r.u32()
	}
	r.u32()
}

// constExpr reads an i32.const or i64.const offset expression ending in end.
func (r *reader) constExpr() uint64 {
	var v uint64
	switch op := r.byte(); op {
	case 0x41, 0x42:
		v = uint64(r.s64())
	default:
		r.err = fmt.Errorf("offset expression opcode 0x%x", op)
	}
	if r.byte() != 0x0b {
		r.fail()
	}
	return v
}
