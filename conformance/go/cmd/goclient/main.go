// goclient is the Go kite `goclient` 1.0.0 that made the recorded calls: it dials a kite
// URL over websocket or xhr, calls one method with a JSON argument list (every string
// "$callback" in it becomes a callback that prints {"args":...,"callback":"<path>"}),
// prints the result as one JSON line (or {"error":{...}} and exits 1), and answers
// `client.hello` with "hello from go client" while connected. With -calls it makes several
// calls on the one connection, one after another or (-parallel) all at once, and prints one
// line per call in the order given.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/koding/kite"
	"github.com/koding/kite/config"
	"github.com/koding/kite/dnode"

	"kitepy.test/conformance/go/internal/peer"
)

// withCallbacks replaces every "$callback" string inside v by a dnode callback that
// prints its arguments and the dotted path where it sat in the argument list.
func withCallbacks(v interface{}, path []string) interface{} {
	switch x := v.(type) {
	case string:
		if x == "$callback" {
			where := strings.Join(path, ".")
			return dnode.Callback(func(args *dnode.Partial) {
				raw := json.RawMessage("null")
				if args != nil && len(args.Raw) > 0 {
					raw = json.RawMessage(args.Raw)
				}
				peer.Print(map[string]interface{}{"args": raw, "callback": where})
			})
		}
		return x
	case []interface{}:
		for i := range x {
			x[i] = withCallbacks(x[i], append(path, strconv.Itoa(i)))
		}
		return x
	case map[string]interface{}:
		for key := range x {
			x[key] = withCallbacks(x[key], append(path, key))
		}
		return x
	default:
		return v
	}
}

func main() {
	var (
		rawURL    = flag.String("url", "", "kite URL, e.g. http://127.0.0.1:3636/kite")
		transport = flag.String("transport", "websocket", "websocket or xhr")
		method    = flag.String("method", "kite.ping", "method to call")
		argsFlag  = flag.String("args", "[]", "JSON array of arguments, or @file")
		authType  = flag.String("auth-type", "", "authentication type to send (kiteKey, token, ...)")
		authKey   = flag.String("auth-key", "", "authentication key, or @file")
		kiteKey   = flag.String("kitekey", "", "kite key file: identity plus kiteKey authentication")
		timeout   = flag.Duration("timeout", 30*time.Second, "how long to wait for the response")
		linger    = flag.Duration("linger", 0, "stay connected this long after the response")
		calls     = flag.String("calls", "", `several calls on the one connection instead of -method/-args: a JSON array of {"method":M,"args":[...]}, or @file`)
		parallel  = flag.Bool("parallel", false, "with -calls: send every call at once instead of one after the other's answer")
	)
	flag.Parse()
	if *rawURL == "" {
		peer.Die("goclient: -url is required")
	}

	cfg, err := peer.Config(*kiteKey)
	if err != nil {
		peer.Die("goclient: %s", err)
	}
	switch *transport {
	case "websocket":
		cfg.Transport = config.WebSocket
	case "xhr":
		cfg.Transport = config.XHRPolling
	default:
		peer.Die("goclient: -transport must be websocket or xhr")
	}

	type call struct {
		Method string          `json:"method"`
		Args   json.RawMessage `json:"args"`
	}
	todo := []call{{Method: *method, Args: json.RawMessage(*argsFlag)}}
	if *calls != "" {
		text, err := peer.Arg(*calls)
		if err != nil {
			peer.Die("goclient: -calls: %s", err)
		}
		todo = nil
		if err := json.Unmarshal([]byte(text), &todo); err != nil || len(todo) == 0 {
			peer.Die("goclient: -calls must be a non-empty JSON array of {\"method\",\"args\"}: %v", err)
		}
	} else if a, err := peer.Arg(*argsFlag); err != nil {
		peer.Die("goclient: -args: %s", err)
	} else {
		todo[0].Args = json.RawMessage(a)
	}
	argLists := make([][]interface{}, len(todo))
	for n, c := range todo {
		var args []interface{}
		text := string(c.Args)
		if text == "" {
			text = "[]"
		}
		dec := json.NewDecoder(strings.NewReader(text))
		dec.UseNumber()
		if err := dec.Decode(&args); err != nil {
			peer.Die("goclient: -args must be a JSON array: %s", err)
		}
		if args == nil {
			args = []interface{}{}
		}
		prefix := []string{}
		if len(todo) > 1 {
			prefix = []string{strconv.Itoa(n)} // callbacks of call n print as "n.<path>"
		}
		for i := range args {
			args[i] = withCallbacks(args[i], append(append([]string{}, prefix...), strconv.Itoa(i)))
		}
		argLists[n] = args
	}

	k := kite.NewWithConfig("goclient", "1.0.0", cfg)
	k.SetLogLevel(kite.ERROR)
	k.HandleFunc("client.hello", func(r *kite.Request) (interface{}, error) {
		return "hello from go client", nil
	})

	c := k.NewClient(*rawURL)
	switch {
	case *authType != "":
		key, err := peer.Arg(*authKey)
		if err != nil {
			peer.Die("goclient: -auth-key: %s", err)
		}
		c.Auth = &kite.Auth{Type: *authType, Key: key}
	case *kiteKey != "":
		c.Auth = &kite.Auth{Type: "kiteKey", Key: cfg.KiteKey}
	}

	if err := c.DialTimeout(*timeout); err != nil {
		fmt.Fprintf(os.Stderr, "goclient: dial %s: %s\n", *rawURL, err)
		os.Exit(2)
	}
	// One output line per call, in the order of -calls, whatever order the answers came in.
	outputs := make([]interface{}, len(todo))
	failed := make([]bool, len(todo))
	answer := func(n int, res *dnode.Partial, err error) {
		if err != nil {
			outputs[n] = map[string]interface{}{"error": peer.ErrorMap(err)}
			failed[n] = true
			return
		}
		raw := json.RawMessage("null")
		if res != nil && len(res.Raw) > 0 {
			raw = json.RawMessage(res.Raw)
		}
		outputs[n] = raw
	}
	if *parallel {
		// Every request is written before any answer is awaited, in the order of -calls
		// (GoWithTimeout sends, then returns the channel its answer will arrive on), so the
		// wire order and the callback numbers are the same on every run.
		waits := make([]func(), len(todo))
		for n := range todo {
			n, ch := n, c.GoWithTimeout(todo[n].Method, *timeout, argLists[n]...)
			waits[n] = func() { r := <-ch; answer(n, r.Result, r.Err) }
		}
		for _, wait := range waits {
			wait()
		}
	} else {
		for n := range todo {
			res, err := c.TellWithTimeout(todo[n].Method, *timeout, argLists[n]...)
			answer(n, res, err)
		}
	}
	code := 0
	for n, out := range outputs {
		peer.Print(out)
		if failed[n] {
			code = 1
		}
	}
	if *linger > 0 {
		time.Sleep(*linger)
	}
	c.Close()
	os.Exit(code)
}
