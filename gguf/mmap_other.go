//go:build !unix

package gguf

import (
	"io"
	"os"
)

// mapFile reads the whole file where mmap is unavailable.
func mapFile(fd *os.File, size int) ([]byte, func([]byte) error, error) {
	b := make([]byte, size)
	if _, err := io.ReadFull(fd, b); err != nil {
		return nil, nil, err
	}
	return b, func([]byte) error { return nil }, nil
}

// evictPages: the file was read into the heap; there is nothing to evict.
func evictPages(data []byte, off, n int) {}
