package backends

import "errors"

// Sentinel errors of the device registry and of device memory (the op
// errors ErrUnsupportedOp and ErrShape live beside the Device interface).
var (
	// ErrUnknownDevice: the device name names no registered backend.
	ErrUnknownDevice = errors.New("unknown device")
	// ErrUnavailable: the backend exists but cannot run here (no driver,
	// no such card, built without the needed support).
	ErrUnavailable = errors.New("device unavailable")
	// ErrOutOfMemory: an allocation or upload does not fit in the
	// device's remaining memory.
	ErrOutOfMemory = errors.New("device out of memory")
)
