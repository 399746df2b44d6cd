// gomath is the Go kite `math` 1.0.0 the conformance captures were recorded against:
// square, echo, rawArgs, add, fail, failTyped, boom, sleep, countdown, callMeBack and limited,
// plus the built-in kite.* methods. Without -auth every method (built-ins included)
// runs unauthenticated; with -auth they need kiteKey or token credentials.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/koding/kite"
	"github.com/koding/kite/dnode"
	"github.com/koding/kite/protocol"

	"kitepy.test/conformance/go/internal/peer"
)

func main() {
	var (
		ip          = flag.String("ip", "127.0.0.1", "address to listen on")
		port        = flag.Int("port", 3636, "port to listen on (0 picks one)")
		auth        = flag.Bool("auth", false, "require kiteKey/token authentication")
		kiteKey     = flag.String("kitekey", "", "kite key file (default: none; username unknown)")
		register    = flag.String("register", "", "register to Kontrol: ws, http, proxy (RegisterToProxy: through a `proxy` kite found in Kontrol or $KITE_PROXY_URL) or tunnel (RegisterToTunnel: through a `tunnelproxy` kite found in Kontrol) (default: don't)")
		kontrolURL  = flag.String("kontrol-url", "", "Kontrol URL (default: the kite key's kontrolURL)")
		registerURL = flag.String("register-url", "", "URL to register (default: http://<ip>:<port>/kite)")
		quiet       = flag.Bool("quiet", false, "log errors only")
		limit       = flag.Duration("limit-interval", time.Minute, "refill interval of the `limited` method's bucket")
		limitCap    = flag.Int64("limit-capacity", 2, "capacity of the `limited` method's bucket")
	)
	flag.Parse()

	cfg, err := peer.Config(*kiteKey)
	if err != nil {
		peer.Die("gomath: %s", err)
	}
	cfg.IP = *ip
	cfg.Port = *port
	cfg.DisableAuthentication = !*auth
	if *kontrolURL != "" {
		cfg.KontrolURL = *kontrolURL
	}

	k := kite.NewWithConfig("math", "1.0.0", cfg)
	if *quiet {
		k.SetLogLevel(kite.ERROR)
	}

	k.HandleFunc("square", func(r *kite.Request) (interface{}, error) {
		n := r.Args.One().MustFloat64()
		return n * n, nil
	})
	k.HandleFunc("echo", func(r *kite.Request) (interface{}, error) {
		return r.Args, nil // the raw JSON array, exactly as received
	})
	k.HandleFunc("rawArgs", func(r *kite.Request) (interface{}, error) {
		if r.Args == nil {
			return nil, nil // withArgs missing or null
		}
		return string(r.Args.Raw), nil // the arguments' JSON text as received, as a string
	})
	k.HandleFunc("add", func(r *kite.Request) (interface{}, error) {
		args := r.Args.MustSliceOfLength(2)
		return args[0].MustFloat64() + args[1].MustFloat64(), nil
	})
	k.HandleFunc("fail", func(r *kite.Request) (interface{}, error) {
		return nil, errors.New(r.Args.One().MustString())
	})
	k.HandleFunc("failTyped", func(r *kite.Request) (interface{}, error) {
		return nil, &kite.Error{Type: "customError", Message: r.Args.One().MustString(), CodeVal: "E_CUSTOM"}
	})
	k.HandleFunc("boom", func(r *kite.Request) (interface{}, error) {
		panic("boom: deliberate panic in handler")
	})
	k.HandleFunc("sleep", func(r *kite.Request) (interface{}, error) {
		ms := r.Args.One().MustFloat64()
		select {
		case <-time.After(time.Duration(ms * float64(time.Millisecond))):
			return "slept", nil
		case <-r.Context.Done():
			return nil, r.Context.Err()
		}
	})
	k.HandleFunc("countdown", func(r *kite.Request) (interface{}, error) {
		var p struct {
			From int
			Cb   dnode.Function
		}
		r.Args.One().MustUnmarshal(&p)
		if !p.Cb.IsValid() {
			return nil, errors.New("countdown: cb is not a function")
		}
		for i := p.From; i > 0; i-- {
			if err := p.Cb.Call(i); err != nil {
				return nil, err
			}
		}
		return "done", nil
	})
	k.HandleFunc("callMeBack", func(r *kite.Request) (interface{}, error) {
		res, err := r.Client.TellWithTimeout("client.hello", 10*time.Second, "hello from math")
		if err != nil {
			return nil, err
		}
		return res, nil
	})
	k.HandleFunc("limited", func(r *kite.Request) (interface{}, error) {
		return "ok", nil
	}).Throttle(*limit, *limitCap)

	go k.Run()
	<-k.ServerReadyNotify()
	fmt.Printf("gomath listening on %s:%d\n", *ip, k.Port())

	if *register != "" {
		k.OnRegister(func(r *protocol.RegisterResult) {
			fmt.Printf("gomath registered %s as %s\n", r.URL, k.Id)
		})
		u := *registerURL
		if u == "" {
			u = fmt.Sprintf("http://%s:%d/kite", *ip, k.Port())
		}
		ru, err := url.Parse(u)
		if err != nil {
			peer.Die("gomath: -register-url: %s", err)
		}
		switch *register {
		case "ws":
			go func() {
				if err := k.RegisterForever(ru); err != nil {
					k.Log.Error("register: %s", err)
				}
			}()
		case "http":
			go k.RegisterHTTPForever(ru)
		case "proxy":
			go k.RegisterToProxy(ru, &protocol.KontrolQuery{
				Username:    cfg.Username,
				Environment: cfg.Environment,
				Name:        "proxy",
			})
		case "tunnel":
			go k.RegisterToTunnel()
		default:
			peer.Die("gomath: -register must be ws, http, proxy or tunnel")
		}
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case <-sig:
	case <-k.ServerCloseNotify():
	}
	k.Close()
}
