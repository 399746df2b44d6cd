// goquery asks Kontrol what the recorded `goquery` asked: -mode getkites (then calls
// -method on the first kite found, with the token Kontrol issued for it), gettoken or
// getkey. It authenticates to Kontrol with its kite key; each answer is one JSON line.
package main

import (
	"encoding/json"
	"flag"
	"strings"
	"time"

	"github.com/koding/kite"
	"github.com/koding/kite/protocol"

	"kitepy.test/conformance/go/internal/peer"
)

func main() {
	var (
		kiteKey    = flag.String("kitekey", "", "kite key file (required)")
		kontrolURL = flag.String("kontrol-url", "", "Kontrol URL (default: the kite key's kontrolURL)")
		mode       = flag.String("mode", "getkites", "getkites, gettoken or getkey")
		qUsername  = flag.String("q-username", "", "query username (default: the kite key's user)")
		qName      = flag.String("q-name", "", "query kite name")
		qEnv       = flag.String("q-environment", "", "query environment")
		qVersion   = flag.String("q-version", "", "query version")
		qRegion    = flag.String("q-region", "", "query region")
		qHostname  = flag.String("q-hostname", "", "query hostname")
		qID        = flag.String("q-id", "", "query kite id")
		method     = flag.String("method", "", "getkites: method to call on the first kite (default: none)")
		argsFlag   = flag.String("args", "[]", "JSON array of arguments for -method, or @file")
		timeout    = flag.Duration("timeout", 15*time.Second, "timeout of each request")
	)
	flag.Parse()
	if *kiteKey == "" {
		peer.Die("goquery: -kitekey is required")
	}
	cfg, err := peer.Config(*kiteKey)
	if err != nil {
		peer.Die("goquery: %s", err)
	}
	if *kontrolURL != "" {
		cfg.KontrolURL = *kontrolURL
	}
	cfg.Timeout = *timeout
	user := *qUsername
	if user == "" {
		user = cfg.Username
	}

	k := kite.NewWithConfig("goquery", "1.0.0", cfg)
	k.SetLogLevel(kite.ERROR)
	defer k.Close()

	switch *mode {
	case "getkey":
		key, err := k.GetKey()
		if err != nil {
			peer.Fail(err)
		}
		peer.Print(map[string]interface{}{"key": key})
	case "gettoken":
		tok, err := k.GetToken(&protocol.Kite{
			Username: user, Environment: *qEnv, Name: *qName, Version: *qVersion,
			Region: *qRegion, Hostname: *qHostname, ID: *qID,
		})
		if err != nil {
			peer.Fail(err)
		}
		peer.Print(map[string]interface{}{"token": tok})
	case "getkites":
		clients, err := k.GetKites(&protocol.KontrolQuery{
			Username: user, Environment: *qEnv, Name: *qName, Version: *qVersion,
			Region: *qRegion, Hostname: *qHostname, ID: *qID,
		})
		if err != nil {
			peer.Fail(err)
		}
		defer kite.Close(clients)
		kites := make([]interface{}, len(clients))
		for i, c := range clients {
			kites[i] = map[string]interface{}{"kite": c.Kite, "url": c.URL, "token": c.Auth.Key}
		}
		peer.Print(map[string]interface{}{"kites": kites})
		if *method == "" {
			return
		}
		argText, err := peer.Arg(*argsFlag)
		if err != nil {
			peer.Die("goquery: -args: %s", err)
		}
		var args []interface{}
		dec := json.NewDecoder(strings.NewReader(argText))
		dec.UseNumber()
		if err := dec.Decode(&args); err != nil {
			peer.Die("goquery: -args must be a JSON array: %s", err)
		}
		if args == nil {
			args = []interface{}{}
		}
		c := clients[0]
		if err := c.DialTimeout(*timeout); err != nil {
			peer.Fail(err)
		}
		res, err := c.TellWithTimeout(*method, *timeout, args...)
		if err != nil {
			peer.Fail(err)
		}
		raw := json.RawMessage("null")
		if res != nil && len(res.Raw) > 0 {
			raw = json.RawMessage(res.Raw)
		}
		peer.Print(map[string]interface{}{"method": *method, "result": raw})
	default:
		peer.Die("goquery: -mode must be getkites, gettoken or getkey")
	}
}
