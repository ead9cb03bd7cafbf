//go:build wasip1 && hostabi

package internal

import "unsafe"

// This file replaces the SDK's abi_hostcalls_mock.go in the wasm build. Each
// exported function keeps the SDK's Go signature; its body calls the host
// through //go:wasmimport, which accepts only fixed-size scalars and
// pointers: sizes travel as uint32, and out-parameters the host fills with a
// 32-bit address are read back through claimHostBuffer.

func ptr(p *byte) unsafe.Pointer { return unsafe.Pointer(p) }

// hostBufferResult completes a host call that returns a buffer allocated with
// proxy_on_memory_allocate.
func hostBufferResult(st uint32, addr, size uint32, data **byte, n *int) Status {
	if Status(st) != StatusOK {
		releaseHostBuffers()
		return Status(st)
	}
	p := claimHostBuffer(addr, size)
	if p == nil && size > 0 {
		return StatusInternalFailure
	}
	*data, *n = p, int(size)
	return StatusOK
}

//go:wasmimport env proxy_log
func hostLog(level uint32, msg unsafe.Pointer, msgSize uint32) uint32

func ProxyLog(logLevel LogLevel, messageData *byte, messageSize int) Status {
	return Status(hostLog(uint32(logLevel), ptr(messageData), uint32(messageSize)))
}

//go:wasmimport env proxy_send_local_response
func hostSendLocalResponse(statusCode uint32, detail unsafe.Pointer, detailSize uint32,
	body unsafe.Pointer, bodySize uint32, headers unsafe.Pointer, headersSize uint32, grpcStatus int32) uint32

func ProxySendLocalResponse(statusCode uint32, statusCodeDetailData *byte, statusCodeDetailsSize int,
	bodyData *byte, bodySize int, headersData *byte, headersSize int, grpcStatus int32) Status {
	return Status(hostSendLocalResponse(statusCode, ptr(statusCodeDetailData), uint32(statusCodeDetailsSize),
		ptr(bodyData), uint32(bodySize), ptr(headersData), uint32(headersSize), grpcStatus))
}

//go:wasmimport env proxy_get_shared_data
func hostGetSharedData(key unsafe.Pointer, keySize uint32, value *uint32, valueSize *uint32, cas *uint32) uint32

func ProxyGetSharedData(keyData *byte, keySize int, returnValueData **byte, returnValueSize *int, returnCas *uint32) Status {
	var addr, size uint32
	st := hostGetSharedData(ptr(keyData), uint32(keySize), &addr, &size, returnCas)
	return hostBufferResult(st, addr, size, returnValueData, returnValueSize)
}

//go:wasmimport env proxy_set_shared_data
func hostSetSharedData(key unsafe.Pointer, keySize uint32, value unsafe.Pointer, valueSize uint32, cas uint32) uint32

func ProxySetSharedData(keyData *byte, keySize int, valueData *byte, valueSize int, cas uint32) Status {
	return Status(hostSetSharedData(ptr(keyData), uint32(keySize), ptr(valueData), uint32(valueSize), cas))
}

//go:wasmimport env proxy_register_shared_queue
func hostRegisterSharedQueue(name unsafe.Pointer, nameSize uint32, id *uint32) uint32

func ProxyRegisterSharedQueue(nameData *byte, nameSize int, returnID *uint32) Status {
	return Status(hostRegisterSharedQueue(ptr(nameData), uint32(nameSize), returnID))
}

//go:wasmimport env proxy_resolve_shared_queue
func hostResolveSharedQueue(vmID unsafe.Pointer, vmIDSize uint32, name unsafe.Pointer, nameSize uint32, id *uint32) uint32

func ProxyResolveSharedQueue(vmIDData *byte, vmIDSize int, nameData *byte, nameSize int, returnID *uint32) Status {
	return Status(hostResolveSharedQueue(ptr(vmIDData), uint32(vmIDSize), ptr(nameData), uint32(nameSize), returnID))
}

//go:wasmimport env proxy_dequeue_shared_queue
func hostDequeueSharedQueue(queueID uint32, value *uint32, valueSize *uint32) uint32

func ProxyDequeueSharedQueue(queueID uint32, returnValueData **byte, returnValueSize *int) Status {
	var addr, size uint32
	st := hostDequeueSharedQueue(queueID, &addr, &size)
	return hostBufferResult(st, addr, size, returnValueData, returnValueSize)
}

//go:wasmimport env proxy_enqueue_shared_queue
func hostEnqueueSharedQueue(queueID uint32, value unsafe.Pointer, valueSize uint32) uint32

func ProxyEnqueueSharedQueue(queueID uint32, valueData *byte, valueSize int) Status {
	return Status(hostEnqueueSharedQueue(queueID, ptr(valueData), uint32(valueSize)))
}

//go:wasmimport env proxy_get_header_map_value
func hostGetHeaderMapValue(mapType uint32, key unsafe.Pointer, keySize uint32, value *uint32, valueSize *uint32) uint32

func ProxyGetHeaderMapValue(mapType MapType, keyData *byte, keySize int, returnValueData **byte, returnValueSize *int) Status {
	var addr, size uint32
	st := hostGetHeaderMapValue(uint32(mapType), ptr(keyData), uint32(keySize), &addr, &size)
	return hostBufferResult(st, addr, size, returnValueData, returnValueSize)
}

//go:wasmimport env proxy_add_header_map_value
func hostAddHeaderMapValue(mapType uint32, key unsafe.Pointer, keySize uint32, value unsafe.Pointer, valueSize uint32) uint32

func ProxyAddHeaderMapValue(mapType MapType, keyData *byte, keySize int, valueData *byte, valueSize int) Status {
	return Status(hostAddHeaderMapValue(uint32(mapType), ptr(keyData), uint32(keySize), ptr(valueData), uint32(valueSize)))
}

//go:wasmimport env proxy_replace_header_map_value
func hostReplaceHeaderMapValue(mapType uint32, key unsafe.Pointer, keySize uint32, value unsafe.Pointer, valueSize uint32) uint32

func ProxyReplaceHeaderMapValue(mapType MapType, keyData *byte, keySize int, valueData *byte, valueSize int) Status {
	return Status(hostReplaceHeaderMapValue(uint32(mapType), ptr(keyData), uint32(keySize), ptr(valueData), uint32(valueSize)))
}

//go:wasmimport env proxy_remove_header_map_value
func hostRemoveHeaderMapValue(mapType uint32, key unsafe.Pointer, keySize uint32) uint32

func ProxyRemoveHeaderMapValue(mapType MapType, keyData *byte, keySize int) Status {
	return Status(hostRemoveHeaderMapValue(uint32(mapType), ptr(keyData), uint32(keySize)))
}

//go:wasmimport env proxy_get_header_map_pairs
func hostGetHeaderMapPairs(mapType uint32, value *uint32, valueSize *uint32) uint32

func ProxyGetHeaderMapPairs(mapType MapType, returnValueData **byte, returnValueSize *int) Status {
	var addr, size uint32
	st := hostGetHeaderMapPairs(uint32(mapType), &addr, &size)
	return hostBufferResult(st, addr, size, returnValueData, returnValueSize)
}

//go:wasmimport env proxy_set_header_map_pairs
func hostSetHeaderMapPairs(mapType uint32, pairs unsafe.Pointer, pairsSize uint32) uint32

func ProxySetHeaderMapPairs(mapType MapType, mapData *byte, mapSize int) Status {
	return Status(hostSetHeaderMapPairs(uint32(mapType), ptr(mapData), uint32(mapSize)))
}

//go:wasmimport env proxy_get_buffer_bytes
func hostGetBufferBytes(bufferType uint32, start uint32, maxSize uint32, value *uint32, valueSize *uint32) uint32

func ProxyGetBufferBytes(bufferType BufferType, start int, maxSize int, returnBufferData **byte, returnBufferSize *int) Status {
	var addr, size uint32
	st := hostGetBufferBytes(uint32(bufferType), uint32(start), uint32(maxSize), &addr, &size)
	return hostBufferResult(st, addr, size, returnBufferData, returnBufferSize)
}

//go:wasmimport env proxy_set_buffer_bytes
func hostSetBufferBytes(bufferType uint32, start uint32, maxSize uint32, value unsafe.Pointer, valueSize uint32) uint32

func ProxySetBufferBytes(bufferType BufferType, start int, maxSize int, bufferData *byte, bufferSize int) Status {
	return Status(hostSetBufferBytes(uint32(bufferType), uint32(start), uint32(maxSize), ptr(bufferData), uint32(bufferSize)))
}

//go:wasmimport env proxy_continue_stream
func hostContinueStream(streamType uint32) uint32

func ProxyContinueStream(streamType StreamType) Status {
	return Status(hostContinueStream(uint32(streamType)))
}

//go:wasmimport env proxy_close_stream
func hostCloseStream(streamType uint32) uint32

func ProxyCloseStream(streamType StreamType) Status {
	return Status(hostCloseStream(uint32(streamType)))
}

//go:wasmimport env proxy_http_call
func hostHttpCall(upstream unsafe.Pointer, upstreamSize uint32, headers unsafe.Pointer, headersSize uint32,
	body unsafe.Pointer, bodySize uint32, trailers unsafe.Pointer, trailersSize uint32, timeout uint32, calloutID *uint32) uint32

func ProxyHttpCall(upstreamData *byte, upstreamSize int, headerData *byte, headerSize int,
	bodyData *byte, bodySize int, trailersData *byte, trailersSize int, timeout uint32, calloutIDPtr *uint32,
) Status {
	return Status(hostHttpCall(ptr(upstreamData), uint32(upstreamSize), ptr(headerData), uint32(headerSize),
		ptr(bodyData), uint32(bodySize), ptr(trailersData), uint32(trailersSize), timeout, calloutIDPtr))
}

//go:wasmimport env proxy_call_foreign_function
func hostCallForeignFunction(name unsafe.Pointer, nameSize uint32, param unsafe.Pointer, paramSize uint32, ret *uint32, retSize *uint32) uint32

func ProxyCallForeignFunction(funcNamePtr *byte, funcNameSize int, paramPtr *byte, paramSize int, returnData **byte, returnSize *int) Status {
	var addr, size uint32
	st := hostCallForeignFunction(ptr(funcNamePtr), uint32(funcNameSize), ptr(paramPtr), uint32(paramSize), &addr, &size)
	return hostBufferResult(st, addr, size, returnData, returnSize)
}

//go:wasmimport env proxy_set_tick_period_milliseconds
func hostSetTickPeriodMilliseconds(period uint32) uint32

func ProxySetTickPeriodMilliseconds(period uint32) Status {
	return Status(hostSetTickPeriodMilliseconds(period))
}

//go:wasmimport env proxy_set_effective_context
func hostSetEffectiveContext(contextID uint32) uint32

func ProxySetEffectiveContext(contextID uint32) Status {
	return Status(hostSetEffectiveContext(contextID))
}

//go:wasmimport env proxy_done
func hostDone() uint32

func ProxyDone() Status { return Status(hostDone()) }

//go:wasmimport env proxy_define_metric
func hostDefineMetric(metricType uint32, name unsafe.Pointer, nameSize uint32, id *uint32) uint32

func ProxyDefineMetric(metricType MetricType, metricNameData *byte, metricNameSize int, returnMetricIDPtr *uint32) Status {
	return Status(hostDefineMetric(uint32(metricType), ptr(metricNameData), uint32(metricNameSize), returnMetricIDPtr))
}

//go:wasmimport env proxy_increment_metric
func hostIncrementMetric(metricID uint32, offset int64) uint32

func ProxyIncrementMetric(metricID uint32, offset int64) Status {
	return Status(hostIncrementMetric(metricID, offset))
}

//go:wasmimport env proxy_record_metric
func hostRecordMetric(metricID uint32, value uint64) uint32

func ProxyRecordMetric(metricID uint32, value uint64) Status {
	return Status(hostRecordMetric(metricID, value))
}

//go:wasmimport env proxy_get_metric
func hostGetMetric(metricID uint32, value *uint64) uint32

func ProxyGetMetric(metricID uint32, returnMetricValue *uint64) Status {
	return Status(hostGetMetric(metricID, returnMetricValue))
}

//go:wasmimport env proxy_get_property
func hostGetProperty(path unsafe.Pointer, pathSize uint32, value *uint32, valueSize *uint32) uint32

func ProxyGetProperty(pathData *byte, pathSize int, returnValueData **byte, returnValueSize *int) Status {
	var addr, size uint32
	st := hostGetProperty(ptr(pathData), uint32(pathSize), &addr, &size)
	return hostBufferResult(st, addr, size, returnValueData, returnValueSize)
}

//go:wasmimport env proxy_set_property
func hostSetProperty(path unsafe.Pointer, pathSize uint32, value unsafe.Pointer, valueSize uint32) uint32

func ProxySetProperty(pathData *byte, pathSize int, valueData *byte, valueSize int) Status {
	return Status(hostSetProperty(ptr(pathData), uint32(pathSize), ptr(valueData), uint32(valueSize)))
}
