//go:build !wasip1

package hostmetrics

import (
	"errors"
	"sync"
)

// Outside Wasm the metrics live in this process, for native tests.
var native struct {
	sync.Mutex
	ids    map[string]uint32
	values []int64
}

func define(_ Kind, name string) (uint32, error) {
	if name == "" {
		return 0, errors.New("hostmetrics: empty metric name")
	}
	native.Lock()
	defer native.Unlock()
	if native.ids == nil {
		native.ids = map[string]uint32{}
	}
	id, ok := native.ids[name]
	if !ok {
		id = uint32(len(native.values))
		native.ids[name] = id
		native.values = append(native.values, 0)
	}
	return id, nil
}

func increment(id uint32, offset int64) {
	native.Lock()
	defer native.Unlock()
	native.values[id] += offset
}

func record(id uint32, value uint64) {
	native.Lock()
	defer native.Unlock()
	native.values[id] = int64(value)
}

// Read returns a metric's value outside Wasm; found is false for a name
// never defined.
func Read(name string) (v int64, found bool) {
	native.Lock()
	defer native.Unlock()
	id, ok := native.ids[name]
	if !ok {
		return 0, false
	}
	return native.values[id], true
}
