package backends

import (
	"fmt"
	"strings"
)

// Availability is one line of a device listing.
type Availability struct {
	Name      string   // what --device takes: "cpu", "cuda:0", "npu:rngd"
	Available bool     // it can be opened here
	Reason    string   // why not, when unavailable
	Details   []string // cores and ISA, memory, compute capability, profile...
}

// Backend is one kind of device, as the registry knows it.
type Backend struct {
	// Name is the part of a device name before the colon: "cpu", "cuda".
	Name string
	// Open opens the device named by cfg, the part after the colon ("0",
	// "rngd"; "" when the name has none).
	Open func(cfg string) (Device, error)
	// List reports the devices of this kind and, for those that cannot run
	// here, why. nil: the backend lists itself as one available device.
	List func() []Availability
}

// Registry maps device names to backends. It is an explicit value built by
// the program (cmd/nuri registers cpu, cuda and npu), not package state, so
// tests can build their own and nothing registers behind anyone's back.
type Registry struct {
	backends []Backend
}

// NewRegistry returns a registry holding bs (see Register).
func NewRegistry(bs ...Backend) (*Registry, error) {
	r := &Registry{}
	for _, b := range bs {
		if err := r.Add(b); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Register adds a backend by name; see Add.
func (r *Registry) Register(name string, open func(cfg string) (Device, error), list func() []Availability) error {
	return r.Add(Backend{Name: name, Open: open, List: list})
}

// Add adds a backend. Its name must be a non-empty lower-case word without
// a colon, not registered before, and Open must be set.
func (r *Registry) Add(b Backend) error {
	switch {
	case b.Name == "" || strings.ContainsAny(b.Name, ": \t") || strings.ToLower(b.Name) != b.Name:
		return fmt.Errorf("register backend %q: name must be a lower-case word without ':'", b.Name)
	case b.Open == nil:
		return fmt.Errorf("register backend %q: no Open function", b.Name)
	}
	if _, ok := r.lookup(b.Name); ok {
		return fmt.Errorf("register backend %q: already registered", b.Name)
	}
	r.backends = append(r.backends, b)
	return nil
}

func (r *Registry) lookup(name string) (Backend, bool) {
	for _, b := range r.backends {
		if b.Name == name {
			return b, true
		}
	}
	return Backend{}, false
}

// Names returns the registered backend names in registration order.
func (r *Registry) Names() []string {
	n := make([]string, len(r.backends))
	for i, b := range r.backends {
		n[i] = b.Name
	}
	return n
}

// ParseName splits a device name "kind[:cfg]" ("cuda:0", "npu:rngd",
// "cpu") into the backend name and its configuration.
func ParseName(name string) (backend, cfg string, err error) {
	s := strings.TrimSpace(name)
	backend, cfg, _ = strings.Cut(s, ":")
	backend = strings.ToLower(backend)
	if backend == "" {
		return "", "", fmt.Errorf("device name %q: %w", name, ErrUnknownDevice)
	}
	return backend, cfg, nil
}

// Open opens the device called name ("cpu", "cuda:0", "npu:0",
// "npu:rngd", "npu:atom"). An unknown kind wraps ErrUnknownDevice and
// lists the known ones; a backend that cannot run here returns its own
// error (wrapping ErrUnavailable with the reason).
func (r *Registry) Open(name string) (Device, error) {
	kind, cfg, err := ParseName(name)
	if err != nil {
		return nil, err
	}
	b, ok := r.lookup(kind)
	if !ok {
		return nil, fmt.Errorf("device %q (known: %s): %w", name, strings.Join(r.Names(), ", "), ErrUnknownDevice)
	}
	d, err := b.Open(cfg)
	if err != nil {
		return nil, fmt.Errorf("open device %q: %w", name, err)
	}
	return d, nil
}

// List returns every backend's listing, in registration order.
func (r *Registry) List() []Availability {
	var out []Availability
	for _, b := range r.backends {
		if b.List == nil {
			out = append(out, Availability{Name: b.Name, Available: true})
			continue
		}
		out = append(out, b.List()...)
	}
	return out
}
