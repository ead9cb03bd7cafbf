package hostrand

import (
	"bytes"
	"testing"
)

// Two reads of 32 bytes agree or are all zero only if Read does not fill
// the buffer (a chance of 2^-256 otherwise). Run under wasip1 too (make
// unit's wasm step) to cover random_get.
func TestRead(t *testing.T) {
	a, b := make([]byte, 32), make([]byte, 32)
	if err := Read(a); err != nil {
		t.Fatal(err)
	}
	if err := Read(b); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a, b) || bytes.Equal(a, make([]byte, 32)) {
		t.Errorf("Read did not fill the buffers: %x, %x", a, b)
	}
	if err := Read(nil); err != nil {
		t.Errorf("Read(nil): %v", err)
	}
}
