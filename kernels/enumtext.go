package kernels

import (
	"fmt"
	"strings"
)

// enumNames are the names of a small option type's values, by value
// (KernelSet, Pacing, Prefetch); the first is also what "" reads as.
type enumNames []string

// parse reads one of the names ("" as the first): what names the option
// in the error.
func (n enumNames) parse(what, s string) (uint8, error) {
	if s == "" {
		return 0, nil
	}
	for i, name := range n {
		if s == name {
			return uint8(i), nil
		}
	}
	return 0, fmt.Errorf("%s %q: want %s or %s", what, s, strings.Join(n[:len(n)-1], ", "), n[len(n)-1])
}

// name is value v's name, or typ(v) for a value without one.
func (n enumNames) name(typ string, v uint8) string {
	if int(v) < len(n) {
		return n[v]
	}
	return fmt.Sprintf("%s(%d)", typ, v)
}
