package vpcd

import (
	"net"

	"golang.org/x/sys/unix"
)

// quickAck re-arms TCP_QUICKACK: Linux clears it after a while, so it is set
// again before every read. Errors are ignored: without it the exchange is
// slower (delayed ACK), not wrong.
func quickAck(c *net.TCPConn) {
	raw, err := c.SyscallConn()
	if err != nil {
		return
	}
	_ = raw.Control(func(fd uintptr) {
		_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_QUICKACK, 1)
	})
}
