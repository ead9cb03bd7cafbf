//go:build wasip1

package hostrand

import (
	"errors"
	"strconv"
	"unsafe"
)

//go:wasmimport wasi_snapshot_preview1 random_get
func randomGet(buf unsafe.Pointer, n uint32) uint32

// Read fills b with random bytes from the host.
func Read(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if errno := randomGet(unsafe.Pointer(&b[0]), uint32(len(b))); errno != 0 {
		return errors.New("hostrand: random_get: WASI errno " + strconv.FormatUint(uint64(errno), 10))
	}
	return nil
}
