package envoyproc

import (
	"bytes"
	"sync"
)

// LogBuffer keeps Envoy's output in memory for a test to read: an
// Options.Log that is safe for the concurrent writes of func-e's stdout and
// stderr copiers.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String is everything written so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
