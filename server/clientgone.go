package server

import (
	"net"
	"sync"
	"time"
)

// clientPoll is how often a request answered whole checks that its client
// is still connected. A streamed answer notices a closed connection on its
// next write (at most keepAlive later); a whole answer writes nothing
// until the end, so without the check a client that gave up (a timeout, a
// closed tab) would keep its sequences decoding to max_tokens.
const clientPoll = 200 * time.Millisecond

// watchClient calls gone, once, when the peer of conn has closed or reset
// the connection, checking every interval until stop is called. The check
// peeks at the socket without consuming anything (connClosed), so bytes a
// client sends early stay for the server to read. A connection that is
// not a socket (an in-memory listener) is never reported.
func watchClient(conn net.Conn, interval time.Duration, gone func()) (stop func()) {
	if conn == nil || !peekable(conn) {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if connClosed(conn) {
					gone()
					return
				}
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}

// rawConn unwraps a TLS connection to its socket. Through TLS a client's
// close_notify alert arrives as data before the end of the stream, so a
// closed TLS client is seen only if it skips the alert (as on a reset).
func rawConn(c net.Conn) net.Conn {
	if w, ok := c.(interface{ NetConn() net.Conn }); ok {
		return w.NetConn()
	}
	return c
}
