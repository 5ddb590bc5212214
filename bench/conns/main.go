// conns: 1000 keep-alive connections, each sending GET / one at a time, responses counted per
// connection, which wrk cannot do (its Lua hooks do not see which connection a response came on).
// Go, not Python: one Python thread cannot load a server that answers ~100k requests/s, and a
// starved connection only shows under full load. Standard library only.
//
//	conns -port P [-c 1000] [-d 5s] [-timeout 2s]
//
// Reconnects when the server closes. Prints one JSON object on stdout: per-connection response
// counts (min, p1, median, max, how many got none), i.e. does every connection get served?
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	out, err := conns(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "conns:", err)
		os.Exit(1)
	}
	json.NewEncoder(os.Stdout).Encode(out)
}

const request = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

// readResponse reads one response; returns status and whether the server will close.
func readResponse(r *bufio.Reader) (status int, closing bool, err error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return 0, false, err
	}
	f := strings.Fields(line)
	if len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/1.") {
		return 0, false, fmt.Errorf("bad status line %q", line)
	}
	status, _ = strconv.Atoi(f[1])
	closing = f[0] == "HTTP/1.0"
	length := 0
	for {
		h, err := r.ReadString('\n')
		if err != nil {
			return 0, false, err
		}
		h = strings.TrimRight(h, "\r\n")
		if h == "" {
			break
		}
		name, value, _ := strings.Cut(h, ":")
		value = strings.TrimSpace(value)
		switch strings.ToLower(name) {
		case "content-length":
			length, _ = strconv.Atoi(value)
		case "connection":
			closing = strings.EqualFold(value, "close")
		}
	}
	_, err = r.Discard(length)
	return status, closing, err
}

type connsResult struct {
	Connections    int            `json:"connections"`
	Seconds        float64        `json:"seconds"`
	Responses      int            `json:"responses"`
	RequestsPerSec float64        `json:"requests_per_sec"`
	PerConnMin     int            `json:"per_connection_min"`
	PerConnP1      int            `json:"per_connection_p1"`
	PerConnMedian  int            `json:"per_connection_median"`
	PerConnMax     int            `json:"per_connection_max"`
	Starved        int            `json:"connections_with_no_response"`
	TCPConnections int            `json:"tcp_connections_opened"`
	CloseReplies   int            `json:"replies_with_connection_close"`
	Non200         int            `json:"non_200"`
	Errors         int            `json:"errors"`
	Timeouts       int            `json:"timeouts"`
	ErrorKinds     map[string]int `json:"error_kinds"`
}

// kind names an error briefly: which step failed and how.
func kind(step string, err error) string {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return step + ": closed by server"
	case errors.Is(err, syscall.ECONNRESET):
		return step + ": reset by server"
	case errors.Is(err, syscall.EPIPE):
		return step + ": broken pipe"
	case errors.Is(err, syscall.ECONNREFUSED):
		return step + ": refused"
	}
	return step + ": other"
}

func conns(args []string) (any, error) {
	fs := flag.NewFlagSet("conns", flag.ExitOnError)
	port := fs.Int("port", 0, "server port on 127.0.0.1")
	n := fs.Int("c", 1000, "connections")
	d := fs.Duration("d", 5*time.Second, "duration")
	timeout := fs.Duration("timeout", 2*time.Second, "per request (as wrk)")
	fs.Parse(args)
	if *port == 0 {
		return nil, errors.New("conns needs -port")
	}
	addr := fmt.Sprintf("127.0.0.1:%d", *port)
	type slot struct {
		responses, opened, closeReplies, non200, errors, timeouts int
		kinds                                                     map[string]int
	}
	slots := make([]slot, *n)
	start := time.Now()
	end := start.Add(*d)
	var wg sync.WaitGroup
	for i := range slots {
		slots[i].kinds = map[string]int{}
		wg.Add(1)
		go func(s *slot) {
			defer wg.Done()
			var c net.Conn
			var r *bufio.Reader
			for time.Now().Before(end) {
				if c == nil {
					var err error
					c, err = net.DialTimeout("tcp", addr, *timeout)
					if err != nil {
						s.errors++
						s.kinds[kind("connect", err)]++
						time.Sleep(10 * time.Millisecond)
						continue
					}
					s.opened++
					r = bufio.NewReader(c)
				}
				dl := time.Now().Add(*timeout)
				if dl.After(end) {
					dl = end
				}
				c.SetDeadline(dl)
				step := "write"
				status, closing, err := func() (int, bool, error) {
					if _, err := io.WriteString(c, request); err != nil {
						return 0, false, err
					}
					step = "read"
					return readResponse(r)
				}()
				if err != nil {
					var ne net.Error
					if errors.As(err, &ne) && ne.Timeout() {
						if time.Now().Before(end) {
							s.timeouts++
						}
					} else {
						s.errors++
						s.kinds[kind(step, err)]++
					}
					c.Close()
					c = nil
					continue
				}
				s.responses++
				if status != 200 {
					s.non200++
				}
				if closing {
					s.closeReplies++
					c.Close()
					c = nil
				}
			}
			if c != nil {
				c.Close()
			}
		}(&slots[i])
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	var res connsResult
	res.Connections = *n
	res.Seconds = elapsed
	res.ErrorKinds = map[string]int{}
	counts := make([]int, *n)
	for i, s := range slots {
		counts[i] = s.responses
		res.Responses += s.responses
		res.TCPConnections += s.opened
		res.CloseReplies += s.closeReplies
		res.Non200 += s.non200
		res.Errors += s.errors
		res.Timeouts += s.timeouts
		for k, v := range s.kinds {
			res.ErrorKinds[k] += v
		}
		if s.responses == 0 {
			res.Starved++
		}
	}
	sort.Ints(counts)
	res.PerConnMin = counts[0]
	res.PerConnP1 = counts[len(counts)/100]
	res.PerConnMedian = counts[len(counts)/2]
	res.PerConnMax = counts[len(counts)-1]
	res.RequestsPerSec = float64(res.Responses) / elapsed
	return res, nil
}
