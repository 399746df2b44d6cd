// gotunnelproxy runs Go kite's tunnel proxy (package koding/kite/tunnelproxy, kite
// `tunnelproxy`) for kites that cannot be reached: they register to it and serve the
// sessions of outside clients through tunnels it opens with `kite.tunnel`. The package picks
// its port from the config (3999 when 0), so with -port 0 this program first finds a free
// port. It registers `ws://<public host>/kite` to Kontrol (the package always does).
//
//	gotunnelproxy -public-key P -private-key K -kitekey KEY [-kontrol-url URL] [-port 0]
//	    [-public-host HOST:PORT]
package main

import (
	"flag"
	"fmt"
	"io/ioutil"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/koding/kite"
	"github.com/koding/kite/tunnelproxy"

	"kitepy.test/conformance/go/internal/peer"
)

func main() {
	var (
		ip         = flag.String("ip", "127.0.0.1", "address to listen on")
		port       = flag.Int("port", 0, "port to listen on (0 picks one)")
		publicKey  = flag.String("public-key", "", "RSA public key (PEM file) checking tunnel tokens")
		privateKey = flag.String("private-key", "", "RSA private key (PEM file) signing tunnel tokens")
		kiteKey    = flag.String("kitekey", "", "kite key file (identity, Kontrol URL and key)")
		kontrolURL = flag.String("kontrol-url", "", "Kontrol URL (default: the kite key's kontrolURL)")
		quiet      = flag.Bool("quiet", false, "log errors only")
		publicHost = flag.String("public-host", "", "host:port of the URLs it hands out (default: <ip>:<port>)")
	)
	flag.Parse()

	pub, err := ioutil.ReadFile(*publicKey)
	if err != nil {
		peer.Die("gotunnelproxy: -public-key: %s", err)
	}
	priv, err := ioutil.ReadFile(*privateKey)
	if err != nil {
		peer.Die("gotunnelproxy: -private-key: %s", err)
	}
	cfg, err := peer.Config(*kiteKey)
	if err != nil {
		peer.Die("gotunnelproxy: %s", err)
	}
	if *kontrolURL != "" {
		cfg.KontrolURL = *kontrolURL
	}
	if *port == 0 {
		l, err := net.Listen("tcp4", net.JoinHostPort(*ip, "0"))
		if err != nil {
			peer.Die("gotunnelproxy: %s", err)
		}
		*port = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	cfg.IP = *ip
	cfg.Port = *port

	t := tunnelproxy.New(cfg, "0.0.1", string(pub), string(priv))
	t.PublicHost = net.JoinHostPort(*ip, strconv.Itoa(*port))
	if *publicHost != "" {
		t.PublicHost = *publicHost
	}
	if *quiet {
		t.Kite.SetLogLevel(kite.ERROR)
	}
	t.Start()
	fmt.Printf("gotunnelproxy listening on %s:%d\n", *ip, *port)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	t.Close()
}
