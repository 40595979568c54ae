package kernels

import (
	"unsafe"

	"golang.org/x/sys/windows"
)

// physicalCores counts, on Windows, the cores with a logical processor in
// this process's affinity mask (GetLogicalProcessorInformation's
// RelationProcessorCore records, which group a core's SMT threads); 0 when
// they cannot be read. It sees one processor group (64 logical
// processors), as the affinity mask does; larger machines keep GOMAXPROCS.
func physicalCores() int {
	k32 := windows.NewLazySystemDLL("kernel32.dll")
	info, affinity := k32.NewProc("GetLogicalProcessorInformation"), k32.NewProc("GetProcessAffinityMask")
	if info.Find() != nil || affinity.Find() != nil {
		return 0
	}
	var procMask, sysMask uintptr
	if r, _, _ := affinity.Call(uintptr(windows.CurrentProcess()), uintptr(unsafe.Pointer(&procMask)), uintptr(unsafe.Pointer(&sysMask))); r == 0 {
		return 0
	}
	var n uint32
	info.Call(0, uintptr(unsafe.Pointer(&n))) // fails, setting the size it needs
	if n == 0 || n > 1<<20 {
		return 0
	}
	buf := make([]byte, n)
	if r, _, _ := info.Call(uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&n))); r == 0 || int(n) > len(buf) {
		return 0
	}
	return coresInMask(buf[:n], uint64(procMask), int(unsafe.Sizeof(uintptr(0))))
}
