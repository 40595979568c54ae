package cuda

import (
	"fmt"
	"os"
	"path/filepath"
)

// defaultCacheDir is os.UserCacheDir()/nuri/cuda ("" when there is none:
// images are then compiled every start).
func defaultCacheDir() string {
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "nuri", "cuda")
}

// cachePath is where the image of key lives.
func cachePath(dir, key string, cubin bool) string {
	ext := ".ptx"
	if cubin {
		ext = ".cubin"
	}
	return filepath.Join(dir, key+ext)
}

// loadCached returns a cached image, or nil.
func loadCached(dir, key string, cubin bool) []byte {
	if dir == "" {
		return nil
	}
	b, err := os.ReadFile(cachePath(dir, key, cubin))
	if err != nil || len(b) == 0 {
		return nil
	}
	return b
}

// storeCached writes an image atomically (temp file and rename), so two
// processes starting together never read half an image.
func storeCached(dir, key string, cubin bool, img []byte) error {
	if dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("kernel cache %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, key+".tmp*")
	if err != nil {
		return fmt.Errorf("kernel cache: %w", err)
	}
	if _, err := f.Write(img); err != nil {
		f.Close()
		os.Remove(f.Name())
		return fmt.Errorf("kernel cache: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("kernel cache: %w", err)
	}
	if err := os.Rename(f.Name(), cachePath(dir, key, cubin)); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("kernel cache: %w", err)
	}
	return nil
}
