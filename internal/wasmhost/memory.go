package wasmhost

import (
	"fmt"

	"github.com/tetratelabs/wazero/api"
)

// Access to the module's linear memory from host functions. A pointer the
// module passes that does not fit its memory is the module's fault: the host
// function answers InvalidMemoryAccess, as Envoy does.

// readBytes copies size bytes at ptr out of the module's memory.
func readBytes(mod api.Module, ptr, size uint32) ([]byte, bool) {
	b, ok := mod.Memory().Read(ptr, size)
	if !ok {
		return nil, false
	}
	return append([]byte(nil), b...), true
}

func readString(mod api.Module, ptr, size uint32) (string, bool) {
	b, ok := mod.Memory().Read(ptr, size)
	return string(b), ok
}

func writeU32(mod api.Module, ptr, v uint32) bool { return mod.Memory().WriteUint32Le(ptr, v) }

func writeU64(mod api.Module, ptr uint32, v uint64) bool { return mod.Memory().WriteUint64Le(ptr, v) }

// returnBytes hands data to the module the way a proxy-wasm host returns a
// buffer: in memory the module allocates (proxy_on_memory_allocate), its
// address and size written to the out-parameters ptrPtr and sizePtr. Like
// Envoy, an empty buffer allocates nothing and returns address 0, size 0.
func (h *Host) returnBytes(mod api.Module, data []byte, ptrPtr, sizePtr uint32) uint32 {
	var addr uint32
	if len(data) > 0 {
		addr = h.allocate(uint32(len(data)))
		if !mod.Memory().Write(addr, data) {
			panic(fmt.Errorf("wasmhost: proxy_on_memory_allocate(%d) returned %#x, outside the module's memory", len(data), addr))
		}
	}
	if !writeU32(mod, ptrPtr, addr) || !writeU32(mod, sizePtr, uint32(len(data))) {
		return statusInvalidMemoryAccess
	}
	return statusOK
}

// allocate calls the module's allocator. It runs inside a host function,
// so a failure cannot be returned to the module: it panics, which makes the
// callback that made the host call fail with the allocator's error.
func (h *Host) allocate(size uint32) uint32 {
	res, err := h.callExport("proxy_on_memory_allocate", uint64(size))
	if err != nil {
		panic(err)
	}
	if res[0] == 0 {
		panic(fmt.Errorf("wasmhost: proxy_on_memory_allocate(%d) returned 0", size))
	}
	return uint32(res[0])
}
