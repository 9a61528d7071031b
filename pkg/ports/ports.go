// Package ports hands out free loopback ports, never the same twice in one
// process: a chosen port is closed again before its user binds it, and the
// kernel may offer it once more meanwhile.
package ports

import (
	"fmt"
	"net"
	"strconv"
	"sync"
)

var (
	mu        sync.Mutex
	handedOut = map[int]bool{}
)

// Free is a loopback port nothing listens on and this process was not given before.
func Free() (int, error) {
	mu.Lock()
	defer mu.Unlock()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !handedOut[port] {
			handedOut[port] = true
			return port, nil
		}
	}
	return 0, fmt.Errorf("no free port")
}

// FreeAddr is Free as "127.0.0.1:port".
func FreeAddr() (string, error) {
	p, err := Free()
	return "127.0.0.1:" + strconv.Itoa(p), err
}
