//go:build !unix

package server

import "net"

// Elsewhere a whole answer's client is not watched: its sequences run to
// their end as before.
func peekable(net.Conn) bool { return false }

func connClosed(net.Conn) bool { return false }
