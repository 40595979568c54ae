//go:build unix

package gguf

import (
	"os"
	"syscall"
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
