//go:build !windows

package cuda

import "github.com/ebitengine/purego"

// driverLibrary is the CUDA driver's shared library.
const driverLibrary = "libcuda.so.1"

// nvrtcLibraries are NVRTC's names, newest first.
func nvrtcLibraries() []string {
	return []string{"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so"}
}

// openLibrary loads a shared library with its symbols resolved now.
func openLibrary(path string) (uintptr, error) {
	return purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_GLOBAL)
}

// lookupSymbol returns the address of a library function.
func lookupSymbol(lib uintptr, name string) (uintptr, error) { return purego.Dlsym(lib, name) }
