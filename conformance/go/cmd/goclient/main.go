// goclient is the Go kite `goclient` 1.0.0 that made the recorded calls: it dials a kite
// URL over websocket or xhr, calls one method with a JSON argument list (every string
// "$callback" in it becomes a callback that prints {"args":...,"callback":"<path>"}),
// prints the result as one JSON line (or {"error":{...}} and exits 1), and answers
// `client.hello` with "hello from go client" while connected.
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

	argText, err := peer.Arg(*argsFlag)
	if err != nil {
		peer.Die("goclient: -args: %s", err)
	}
	var args []interface{}
	dec := json.NewDecoder(strings.NewReader(argText))
	dec.UseNumber()
	if err := dec.Decode(&args); err != nil {
		peer.Die("goclient: -args must be a JSON array: %s", err)
	}
	if args == nil {
		args = []interface{}{}
	}
	for i := range args {
		args[i] = withCallbacks(args[i], []string{strconv.Itoa(i)})
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
	res, err := c.TellWithTimeout(*method, *timeout, args...)
	code := 0
	if err != nil {
		peer.Print(map[string]interface{}{"error": peer.ErrorMap(err)})
		code = 1
	} else {
		raw := json.RawMessage("null")
		if res != nil && len(res.Raw) > 0 {
			raw = json.RawMessage(res.Raw)
		}
		peer.Print(raw)
	}
	if *linger > 0 {
		time.Sleep(*linger)
	}
	c.Close()
	os.Exit(code)
}
