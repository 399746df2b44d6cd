// gobench is a Go kite client doing a bounded benchmark loop against one kite: -n calls of
// -method (square(4), or echo of a -payload byte string) from -c goroutines sharing one
// client, each call timed. It prints one JSON line: calls, seconds, latencies_us (every call,
// in completion order) and errors. Built by bench/_peers with conformance/go's module pins.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/koding/kite"
	"github.com/koding/kite/config"
)

func main() {
	var (
		rawURL    = flag.String("url", "", "kite URL")
		transport = flag.String("transport", "websocket", "websocket or xhr")
		n         = flag.Int("n", 1000, "calls in all")
		c         = flag.Int("c", 1, "concurrent callers")
		method    = flag.String("method", "square", "square or echo")
		payload   = flag.Int("payload", 0, "echo payload size in bytes")
		timeout   = flag.Duration("timeout", 60*time.Second, "per-call timeout")
	)
	flag.Parse()
	cfg := config.New()
	if *transport == "xhr" {
		cfg.Transport = config.XHRPolling
	} else {
		cfg.Transport = config.WebSocket
	}
	k := kite.NewWithConfig("gobench", "1.0.0", cfg)
	k.SetLogLevel(kite.ERROR)
	client := k.NewClient(*rawURL)
	if err := client.DialTimeout(30 * time.Second); err != nil {
		fmt.Fprintf(os.Stderr, "gobench: dial: %s\n", err)
		os.Exit(2)
	}
	arg := interface{}(4)
	if *method == "echo" {
		arg = strings.Repeat("x", *payload)
	}
	latencies := make([]int64, *n)
	var next int64 = -1
	var errors int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < *c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := atomic.AddInt64(&next, 1)
				if i >= int64(*n) {
					return
				}
				t0 := time.Now()
				_, err := client.TellWithTimeout(*method, *timeout, arg)
				latencies[i] = time.Since(t0).Microseconds()
				if err != nil {
					atomic.AddInt64(&errors, 1)
					firstErr.Store(err.Error())
				}
			}
		}()
	}
	wg.Wait()
	seconds := time.Since(start).Seconds()
	client.Close()
	out := map[string]interface{}{"calls": *n, "seconds": seconds, "latencies_us": latencies, "errors": errors}
	if e := firstErr.Load(); e != nil {
		out["first_error"] = e
	}
	json.NewEncoder(os.Stdout).Encode(out)
}
