//go:build windows

package cuda

import "syscall"

// driverLibrary is the CUDA driver's DLL.
const driverLibrary = "nvcuda.dll"

// nvrtcLibraries are NVRTC's DLL names, newest first.
func nvrtcLibraries() []string {
	return []string{"nvrtc64_130_0.dll", "nvrtc64_120_0.dll", "nvrtc64_112_0.dll"}
}

// openLibrary loads a DLL.
func openLibrary(path string) (uintptr, error) {
	h, err := syscall.LoadLibrary(path)
	return uintptr(h), err
}

// lookupSymbol returns the address of a DLL function.
func lookupSymbol(lib uintptr, name string) (uintptr, error) {
	return syscall.GetProcAddress(syscall.Handle(lib), name)
}
