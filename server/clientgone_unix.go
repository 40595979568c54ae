//go:build unix

package server

import (
	"errors"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

func peekable(c net.Conn) bool {
	_, ok := rawConn(c).(syscall.Conn)
	return ok
}

// connClosed peeks one byte without waiting: a read of zero bytes is the
// peer's end of stream, an error other than "nothing yet" a reset. Data
// waiting (a pipelined request) means the client is still there.
func connClosed(c net.Conn) bool {
	sc, ok := rawConn(c).(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	closed := false
	var buf [1]byte
	cerr := rc.Control(func(fd uintptr) {
		n, _, err := unix.Recvfrom(int(fd), buf[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		switch {
		case err == nil:
			closed = n == 0
		case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EWOULDBLOCK), errors.Is(err, unix.EINTR):
		default:
			closed = true
		}
	})
	return cerr == nil && closed
}
