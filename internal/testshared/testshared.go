// Package testshared resolves the read-only shared test data folder
// (../shared beside the module root, or $NURI_SHARED) for tests.
//
// A test that needs shared data calls Dir or Path; when the folder is
// missing the test fails loudly rather than skipping, so CI can never pass
// by silently not running the reference checks.
package testshared

import (
	"os"
	"path/filepath"
	"testing"
)

// Root returns the shared folder, or an error message when it cannot be found.
func Root() (string, error) {
	if d := os.Getenv("NURI_SHARED"); d != "" {
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			return "", &notFound{"$NURI_SHARED=" + d + " is not a directory"}
		}
		return d, nil
	}
	mod, err := moduleRoot()
	if err != nil {
		return "", err
	}
	d := filepath.Join(filepath.Dir(mod), "shared")
	if st, err := os.Stat(d); err != nil || !st.IsDir() {
		return "", &notFound{"shared test data not found at " + d + " (set NURI_SHARED)"}
	}
	return d, nil
}

type notFound struct{ msg string }

func (e *notFound) Error() string { return e.msg }

func moduleRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", &notFound{"go.mod not found above " + wd}
		}
	}
}

// Dir returns the shared folder or fails the test.
func Dir(tb testing.TB) string {
	tb.Helper()
	d, err := Root()
	if err != nil {
		tb.Fatalf("shared test data: %v", err)
	}
	return d
}

// Path joins elem under the shared folder and fails the test when the
// resulting file or folder does not exist.
func Path(tb testing.TB, elem ...string) string {
	tb.Helper()
	p := filepath.Join(append([]string{Dir(tb)}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		tb.Fatalf("shared test data: %v", err)
	}
	return p
}
