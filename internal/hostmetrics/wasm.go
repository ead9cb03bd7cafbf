//go:build wasip1

package hostmetrics

import (
	"errors"
	"strconv"
	"unsafe"
)

//go:wasmimport env proxy_define_metric
func hostDefineMetric(kind uint32, name unsafe.Pointer, nameSize uint32, id *uint32) uint32

//go:wasmimport env proxy_increment_metric
func hostIncrementMetric(id uint32, offset int64) uint32

//go:wasmimport env proxy_record_metric
func hostRecordMetric(id uint32, value uint64) uint32

func define(kind Kind, name string) (uint32, error) {
	if name == "" {
		return 0, errors.New("hostmetrics: empty metric name")
	}
	var id uint32
	if st := hostDefineMetric(uint32(kind), unsafe.Pointer(unsafe.StringData(name)), uint32(len(name)), &id); st != 0 {
		return 0, errors.New("hostmetrics: defining " + name + ": host status " + strconv.Itoa(int(st)))
	}
	return id, nil
}

func increment(id uint32, offset int64) { hostIncrementMetric(id, offset) }

func record(id uint32, value uint64) { hostRecordMetric(id, value) }
