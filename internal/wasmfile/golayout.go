package wasmfile

import (
	"encoding/binary"
	"errors"
	"sort"
)

// GoData splits the initial linear memory of a Go-built module into the
// parts the Go linker lays out, from the runtime's module data (the table
// the runtime itself reads at start: firstmoduledata).
type GoData struct {
	Rodata    uint64 // type descriptors, strings and other read-only data
	Pclntab   uint64 // function names, file and line tables, PC-value tables
	Funcdata  uint64 // per-function stack maps and the function lookup table
	NoPtrData uint64 // initialized variables without pointers
	Data      uint64 // initialized variables with pointers
}

// pcHeaderMagic starts the pclntab of Go 1.20 and later.
const pcHeaderMagic = 0xfffffff1

// GoDataLayout reads the layout of a module built by Go 1.20 or later
// (wasm, 64-bit pointers).
func (m *Module) GoDataLayout() (GoData, error) {
	mem := m.memory()
	word := func(addr uint64) (uint64, bool) {
		if addr+8 > uint64(len(mem)) {
			return 0, false
		}
		return binary.LittleEndian.Uint64(mem[addr:]), true
	}
	for pc := uint64(0); pc+16 < uint64(len(mem)); pc += 8 {
		if binary.LittleEndian.Uint32(mem[pc:]) != pcHeaderMagic || mem[pc+6] != 1 || mem[pc+7] != 8 {
			continue
		}
		// firstmoduledata begins with a pointer to the pcHeader.
		for md := uint64(0); md+8*46 < uint64(len(mem)); md += 8 {
			if v, _ := word(md); v != pc {
				continue
			}
			if d, ok := layoutAt(word, md, pc); ok {
				return d, nil
			}
		}
	}
	return GoData{}, errors.New("no Go module data found (not a Go 1.20+ wasm module?)")
}

// layoutAt reads moduledata at md: the pcHeader pointer, six slices, then
// findfunctab, minpc, maxpc, text, etext, noptrdata, enoptrdata, data,
// edata, bss, ebss, noptrbss, enoptrbss, covctrs, ecovctrs, end, gcdata,
// gcbss, types, etypes, rodata, gofunc, epclntab.
func layoutAt(word func(uint64) (uint64, bool), md, pc uint64) (GoData, bool) {
	f := func(i int) uint64 { v, _ := word(md + 8*uint64(i)); return v }
	const base = 1 + 6*3
	pclntable, pclntableLen := f(1+4*3), f(1+4*3+1)
	noptrdata, enoptrdata := f(base+5), f(base+6)
	data, edata := f(base+7), f(base+8)
	types, etypes := f(base+18), f(base+19)
	gofunc, epclntab := f(base+21), f(base+22)
	ok := types <= etypes && etypes == pc && pc < pclntable && pclntable+pclntableLen <= gofunc &&
		gofunc <= epclntab && epclntab <= noptrdata && noptrdata <= enoptrdata && enoptrdata <= data && data <= edata
	if !ok {
		return GoData{}, false
	}
	return GoData{
		Rodata:    etypes - types,
		Pclntab:   gofunc - pc,
		Funcdata:  epclntab - gofunc,
		NoPtrData: enoptrdata - noptrdata,
		Data:      edata - data,
	}, true
}

// memory is the initial linear memory the active data segments describe.
func (m *Module) memory() []byte {
	segs := append([]Segment(nil), m.Data...)
	sort.Slice(segs, func(i, j int) bool { return segs[i].Offset < segs[j].Offset })
	var end uint64
	for _, s := range segs {
		end = max(end, s.Offset+uint64(s.Size))
	}
	mem := make([]byte, end)
	for _, s := range segs {
		copy(mem[s.Offset:], s.Bytes)
	}
	return mem
}
