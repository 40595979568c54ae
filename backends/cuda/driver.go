package cuda

import (
	"errors"
	"fmt"
	"strings"
	"unsafe"

	"github.com/ebitengine/purego"
)

// cuResult is a CUresult.
type cuResult int32

// errNotLoaded: a driver function is missing from the loaded library.
var errNotLoaded = errors.New("symbol not found")

// Attributes of cuDeviceGetAttribute.
const (
	attrMultiprocessorCount = 16
	attrComputeMajor        = 75
	attrComputeMinor        = 76
)

// driver holds the CUDA driver API functions, resolved from libcuda.so.1
// at run time (no CUDA toolkit or cgo needed to build).
type driver struct {
	lib uintptr

	cuInit                    func(flags uint32) cuResult
	cuDriverGetVersion        func(v *int32) cuResult
	cuDeviceGetCount          func(n *int32) cuResult
	cuDeviceGet               func(dev *int32, ordinal int32) cuResult
	cuDeviceGetName           func(name *byte, n int32, dev int32) cuResult
	cuDeviceGetAttribute      func(v *int32, attr int32, dev int32) cuResult
	cuDeviceTotalMem          func(bytes *uint64, dev int32) cuResult
	cuDeviceGetPCIBusId       func(id *byte, n int32, dev int32) cuResult
	cuDevicePrimaryCtxRetain  func(ctx *uintptr, dev int32) cuResult
	cuDevicePrimaryCtxRelease func(dev int32) cuResult
	cuCtxSetCurrent           func(ctx uintptr) cuResult
	cuCtxSynchronize          func() cuResult
	cuMemGetInfo              func(free, total *uint64) cuResult
	cuMemAlloc                func(ptr *uint64, size uint64) cuResult
	cuMemFree                 func(ptr uint64) cuResult
	cuMemsetD8Async           func(ptr uint64, v uint8, n uint64, stream uintptr) cuResult
	cuMemcpyHtoDAsync         func(dst uint64, src unsafe.Pointer, n uint64, stream uintptr) cuResult
	cuMemcpyDtoHAsync         func(dst unsafe.Pointer, src uint64, n uint64, stream uintptr) cuResult
	cuStreamCreate            func(s *uintptr, flags uint32) cuResult
	cuStreamDestroy           func(s uintptr) cuResult
	cuStreamSynchronize       func(s uintptr) cuResult
	cuModuleLoadData          func(mod *uintptr, image unsafe.Pointer) cuResult
	cuModuleUnload            func(mod uintptr) cuResult
	cuModuleGetFunction       func(fn *uintptr, mod uintptr, name string) cuResult
	cuFuncSetAttribute        func(fn uintptr, attr int32, v int32) cuResult
	cuLaunchKernel            func(fn uintptr, gx, gy, gz, bx, by, bz, shmem uint32, stream uintptr, params unsafe.Pointer, extra unsafe.Pointer) cuResult
	cuGetErrorString          func(r cuResult, s **byte) cuResult
}

// driverSymbols pairs each function with its exported name (the _v2
// entry points are the current ABI of the unversioned names).
func (d *driver) symbols() []struct {
	fn   any
	name string
} {
	return []struct {
		fn   any
		name string
	}{
		{&d.cuInit, "cuInit"},
		{&d.cuDriverGetVersion, "cuDriverGetVersion"},
		{&d.cuDeviceGetCount, "cuDeviceGetCount"},
		{&d.cuDeviceGet, "cuDeviceGet"},
		{&d.cuDeviceGetName, "cuDeviceGetName"},
		{&d.cuDeviceGetAttribute, "cuDeviceGetAttribute"},
		{&d.cuDeviceTotalMem, "cuDeviceTotalMem_v2"},
		{&d.cuDeviceGetPCIBusId, "cuDeviceGetPCIBusId"},
		{&d.cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain"},
		{&d.cuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2"},
		{&d.cuCtxSetCurrent, "cuCtxSetCurrent"},
		{&d.cuCtxSynchronize, "cuCtxSynchronize"},
		{&d.cuMemGetInfo, "cuMemGetInfo_v2"},
		{&d.cuMemAlloc, "cuMemAlloc_v2"},
		{&d.cuMemFree, "cuMemFree_v2"},
		{&d.cuMemsetD8Async, "cuMemsetD8Async"},
		{&d.cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2"},
		{&d.cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2"},
		{&d.cuStreamCreate, "cuStreamCreate"},
		{&d.cuStreamDestroy, "cuStreamDestroy_v2"},
		{&d.cuStreamSynchronize, "cuStreamSynchronize"},
		{&d.cuModuleLoadData, "cuModuleLoadData"},
		{&d.cuModuleUnload, "cuModuleUnload"},
		{&d.cuModuleGetFunction, "cuModuleGetFunction"},
		{&d.cuFuncSetAttribute, "cuFuncSetAttribute"},
		{&d.cuLaunchKernel, "cuLaunchKernel"},
		{&d.cuGetErrorString, "cuGetErrorString"},
	}
}

// loadDriver opens the driver library (path "": driverLibrary) and
// resolves every function, or says why not.
func loadDriver(path string) (*driver, error) {
	if path == "" {
		path = driverLibrary
	}
	lib, err := openLibrary(path)
	if err != nil {
		return nil, fmt.Errorf("load the CUDA driver %s: %v", path, err)
	}
	d := &driver{lib: lib}
	if err := bind(lib, d.symbols()); err != nil {
		return nil, fmt.Errorf("CUDA driver %s: %w", path, err)
	}
	return d, nil
}

// bind resolves each symbol with Dlsym first, so a missing one is an error
// rather than a panic.
func bind(lib uintptr, syms []struct {
	fn   any
	name string
}) error {
	for _, s := range syms {
		p, err := lookupSymbol(lib, s.name)
		if err != nil || p == 0 {
			return fmt.Errorf("%s: %w", s.name, errNotLoaded)
		}
		purego.RegisterFunc(s.fn, p)
	}
	return nil
}

// check turns a CUresult into an error naming the call.
func (d *driver) check(what string, r cuResult) error {
	if r == 0 {
		return nil
	}
	msg := "unknown error"
	var s *byte
	if d.cuGetErrorString(r, &s) == 0 && s != nil {
		msg = cString(s)
	}
	return fmt.Errorf("%s: CUDA error %d (%s)", what, int32(r), msg)
}

// cString copies a NUL-terminated C string.
func cString(p *byte) string {
	if p == nil {
		return ""
	}
	var b strings.Builder
	for i := uintptr(0); i < 4096; i++ {
		c := *(*byte)(unsafe.Add(unsafe.Pointer(p), i))
		if c == 0 {
			break
		}
		b.WriteByte(c)
	}
	return b.String()
}
