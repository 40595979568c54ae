//go:build unix

package gguf

import (
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mapFile maps the file read-only and shared: pages come from the page
// cache, so several processes opening one model share its memory.
func mapFile(fd *os.File, size int) ([]byte, func([]byte) error, error) {
	b, err := syscall.Mmap(int(fd.Fd()), 0, size, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, err
	}
	return b, syscall.Munmap, nil
}

// evictPages drops the whole pages of data[off:off+n] from the resident set
// (MADV_DONTNEED on a shared read-only file mapping only unmaps them; the
// next read faults them back from the page cache). Errors are ignored: it is
// advice, and the mapping stays correct either way.
func evictPages(data []byte, off, n int) {
	ps := os.Getpagesize()
	base := uintptr(unsafe.Pointer(unsafe.SliceData(data)))
	lo := (int(base)+off+ps-1)/ps*ps - int(base)
	hi := (int(base)+off+n)/ps*ps - int(base)
	if lo < 0 || hi > len(data) || hi <= lo {
		return
	}
	_ = unix.Madvise(data[lo:hi], unix.MADV_DONTNEED)
}
