// goreverseproxy is Go kite's reverse proxy (package koding/kite/reverseproxy, kite `proxy`
// 0.0.1) as a conformance peer. That package imports github.com/koding/websocketproxy, which
// the Go module proxy does not serve, so this program rebuilds it from the same parts: a
// koding/kite kite named `proxy` whose `register(url)` method records the caller's kite id and
// answers `<scheme>://<publicHost>:<publicPort>/proxy/<id>`, an OnDisconnect hook dropping the
// mapping, and net/http/httputil.ReverseProxy for `/proxy/<id>/<rest>` (it also carries
// WebSocket upgrades since Go 1.12) with the package's director: the backend is the registered
// URL's host with `/<rest>` appended to its path, scheme `http`.
//
//	goreverseproxy [-ip 127.0.0.1] [-port 0] [-public-host 127.0.0.1] [-public-port P]
//	    [-kitekey KEY -kontrol-url URL -register]
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"path"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/koding/kite"

	"kitepy.test/conformance/go/internal/peer"
)

func main() {
	var (
		ip         = flag.String("ip", "127.0.0.1", "address to listen on")
		port       = flag.Int("port", 0, "port to listen on (0 picks one)")
		publicHost = flag.String("public-host", "127.0.0.1", "host of the public URLs")
		publicPort = flag.Int("public-port", 0, "port of the public URLs (default: the listening port)")
		kiteKey    = flag.String("kitekey", "", "kite key file (default: none)")
		kontrolURL = flag.String("kontrol-url", "", "Kontrol URL (default: the kite key's kontrolURL)")
		register   = flag.Bool("register", false, "register <public URL>/kite to Kontrol")
		quiet      = flag.Bool("quiet", false, "log errors only")
	)
	flag.Parse()

	cfg, err := peer.Config(*kiteKey)
	if err != nil {
		peer.Die("goreverseproxy: %s", err)
	}
	if *kontrolURL != "" {
		cfg.KontrolURL = *kontrolURL
	}
	k := kite.NewWithConfig("proxy", "0.0.1", cfg)
	if *quiet {
		k.SetLogLevel(kite.ERROR)
	}

	listener, err := net.Listen("tcp4", net.JoinHostPort(*ip, strconv.Itoa(*port)))
	if err != nil {
		peer.Die("goreverseproxy: %s", err)
	}
	listenPort := listener.Addr().(*net.TCPAddr).Port
	if *publicPort == 0 {
		*publicPort = listenPort
	}

	var mu sync.Mutex
	kites := map[string]url.URL{}

	k.HandleFunc("register", func(r *kite.Request) (interface{}, error) {
		kiteURL, err := url.Parse(r.Args.One().MustString())
		if err != nil {
			return nil, err
		}
		mu.Lock()
		kites[r.Client.ID] = *kiteURL
		mu.Unlock()
		public := url.URL{
			Scheme: "http",
			Host:   *publicHost + ":" + strconv.Itoa(*publicPort),
			Path:   "/proxy/" + r.Client.ID,
		}
		fmt.Printf("goreverseproxy registered %s for %s\n", public.String(), r.Client.ID)
		return public.String(), nil
	})
	k.OnDisconnect(func(c *kite.Client) {
		mu.Lock()
		delete(kites, c.Kite.ID)
		mu.Unlock()
		fmt.Printf("goreverseproxy removed %s\n", c.Kite.ID)
	})

	proxy := &httputil.ReverseProxy{Director: func(req *http.Request) {
		paths := strings.Split(strings.TrimPrefix(req.URL.Path, "/proxy"), "/")
		if len(paths) < 2 {
			return
		}
		id, rest := paths[1], path.Join(paths[2:]...)
		mu.Lock()
		backend, ok := kites[id]
		mu.Unlock()
		if !ok {
			return
		}
		req.URL.Scheme = "http"
		req.URL.Host = backend.Host
		req.URL.Path = backend.Path + "/" + rest
	}}

	mux := http.NewServeMux()
	mux.Handle("/", k)
	mux.Handle("/proxy/", proxy)

	if *register {
		u := &url.URL{Scheme: "http", Host: *publicHost + ":" + strconv.Itoa(*publicPort), Path: "/kite"}
		go func() {
			if err := k.RegisterForever(u); err != nil {
				k.Log.Error("register: %s", err)
			}
		}()
	}

	go http.Serve(listener, mux)
	fmt.Printf("goreverseproxy listening on %s:%d\n", *ip, listenPort)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	listener.Close()
	k.Close()
}
