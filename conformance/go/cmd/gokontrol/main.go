// gokontrol runs the real koding/kite `kontrol` package with its PostgreSQL storage
// (kites and key pairs), as in the recorded Kontrol scenarios.
//
//	gokontrol -initial -username anchor -kontrol-url URL -public-key P -private-key K
//	    issues a kite key for the user (what `kontrol -initial` does) and writes it to
//	    $KITE_HOME/kite.key, or to -out when given.
//	gokontrol -dsn DSN -public-key P -private-key K -kitekey KEY [-port 4000] [-create-schema DIR]
//	    serves Kontrol; -create-schema applies the kite module's kontrol/002-table.sql and
//	    003-*.sql migrations from DIR when the `kite` schema does not exist yet.
package main

import (
	"database/sql"
	"flag"
	"fmt"
	"io/ioutil"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/koding/kite"
	"github.com/koding/kite/config"
	"github.com/koding/kite/kitekey"
	"github.com/koding/kite/kontrol"
	"github.com/lib/pq"

	"kitepy.test/conformance/go/internal/peer"
)

func main() {
	var (
		ip          = flag.String("ip", "127.0.0.1", "address to listen on")
		port        = flag.Int("port", 4000, "port to listen on")
		publicKey   = flag.String("public-key", "", "Kontrol's RSA public key (PEM file)")
		privateKey  = flag.String("private-key", "", "Kontrol's RSA private key (PEM file)")
		kiteKeyFile = flag.String("kitekey", "", "Kontrol's own kite key (default: $KITE_HOME/kite.key)")
		dsn         = flag.String("dsn", os.Getenv("KITE_TEST_POSTGRES_DSN"), "PostgreSQL DSN (default: $KITE_TEST_POSTGRES_DSN)")
		schemaDir   = flag.String("create-schema", "", "directory holding kite's kontrol/*.sql; applied when schema `kite` is missing")
		heartbeat   = flag.Duration("heartbeat-interval", kontrol.HeartbeatInterval, "interval kites are told to heartbeat")
		version     = flag.String("version", "0.0.1", "Kontrol's kite version")
		registerURL = flag.String("register-url", "", "URL Kontrol registers for itself (default: the kite key's kontrolURL)")
		quiet       = flag.Bool("quiet", false, "log errors only")
		initial     = flag.Bool("initial", false, "issue a kite key for -username and exit")
		username    = flag.String("username", "", "-initial: the user")
		kontrolURL  = flag.String("kontrol-url", "", "-initial: the kontrolURL written into the key")
		out         = flag.String("out", "", "-initial: write the kite key here instead of $KITE_HOME/kite.key")
	)
	flag.Parse()

	pub, err := ioutil.ReadFile(*publicKey)
	if err != nil {
		peer.Die("gokontrol: cannot read public key file: %s", err)
	}
	priv, err := ioutil.ReadFile(*privateKey)
	if err != nil {
		peer.Die("gokontrol: cannot read private key file: %s", err)
	}

	if *initial {
		initialKey(*username, *kontrolURL, *version, *out, string(pub), string(priv))
		return
	}

	var cfg *config.Config
	if *kiteKeyFile != "" {
		cfg, err = peer.Config(*kiteKeyFile)
	} else {
		cfg, err = config.Get()
	}
	if err != nil {
		peer.Die("gokontrol: %s", err)
	}
	cfg.IP = *ip
	cfg.Port = *port
	kontrol.HeartbeatInterval = *heartbeat

	if *dsn == "" {
		peer.Die("gokontrol: -dsn (or KITE_TEST_POSTGRES_DSN) is required")
	}
	db, err := sql.Open("postgres", withSSLDefault(*dsn))
	if err != nil {
		peer.Die("gokontrol: %s", err)
	}
	if err := db.Ping(); err != nil {
		peer.Die("gokontrol: cannot reach PostgreSQL: %s", err)
	}
	if *schemaDir != "" {
		if err := createSchema(db, *schemaDir); err != nil {
			peer.Die("gokontrol: schema: %s", err)
		}
	}

	k := kontrol.New(cfg, *version)
	if *quiet {
		k.Kite.SetLogLevel(kite.ERROR)
	} else {
		k.Kite.SetLogLevel(kite.DEBUG)
	}
	if *registerURL != "" {
		k.RegisterURL = *registerURL
	}
	// The same value kontrol.NewPostgres builds, but from a DSN; its row cleaner as well.
	p := &kontrol.Postgres{DB: db, Log: k.Kite.Log}
	go p.RunCleaner(120*time.Second, kontrol.KeyTTL)
	k.SetStorage(p)
	k.SetKeyPairStorage(p)
	// Reuse the id of a key pair an earlier run stored: Kontrol signs with the id it was given.
	keyID := ""
	err = db.QueryRow(`SELECT id FROM kite.key WHERE public = $1`, strings.TrimSpace(string(pub))).Scan(&keyID)
	if err != nil && err != sql.ErrNoRows {
		peer.Die("gokontrol: look up key pair: %s", err)
	}
	if err := k.AddKeyPair(keyID, string(pub), string(priv)); err != nil {
		if e, ok := err.(*pq.Error); !ok || e.Code != "23505" || keyID == "" {
			peer.Die("gokontrol: add key pair: %s", err)
		}
	}

	go k.Run()
	<-k.Kite.ServerReadyNotify()
	fmt.Printf("gokontrol listening on %s:%d\n", *ip, k.Kite.Port())

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case <-sig:
	case <-k.Kite.ServerCloseNotify():
	}
	k.Close()
}

func initialKey(username, kontrolURL, version, out, pub, priv string) {
	if username == "" {
		peer.Die("gokontrol: -initial needs -username")
	}
	if out != "" {
		dir, err := ioutil.TempDir("", "gokontrol-initial")
		if err != nil {
			peer.Die("gokontrol: %s", err)
		}
		defer os.RemoveAll(dir)
		os.Setenv("KITE_HOME", dir)
	}
	cfg := config.New()
	cfg.Username = username
	cfg.KontrolURL = kontrolURL
	k := kontrol.New(cfg, version)
	k.Kite.SetLogLevel(kite.ERROR)
	if err := k.AddKeyPair("", pub, priv); err != nil {
		peer.Die("gokontrol: %s", err)
	}
	if err := k.InitializeSelf(); err != nil {
		peer.Die("gokontrol: %s", err)
	}
	if out == "" {
		fmt.Println("kite.key is written to $KITE_HOME/kite.key")
		return
	}
	key, err := kitekey.Read()
	if err != nil {
		peer.Die("gokontrol: %s", err)
	}
	if err := ioutil.WriteFile(out, []byte(key), 0600); err != nil {
		peer.Die("gokontrol: %s", err)
	}
	fmt.Printf("kite.key is written to %s\n", out)
}

// withSSLDefault adds sslmode=disable unless the DSN chooses (lib/pq's default is require).
func withSSLDefault(dsn string) string {
	if strings.Contains(dsn, "sslmode=") {
		return dsn
	}
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		q.Set("sslmode", "disable")
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " sslmode=disable"
}

var grants = regexp.MustCompile(`(?m)^GRANT [^;]*;`)

// createSchema runs kite's kontrol/002-table.sql and 003-*.sql (from the kite module in
// the Go module cache) unless the `kite` schema is already there.
func createSchema(db *sql.DB, dir string) error {
	var exists bool
	err := db.QueryRow(`SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'kite')`).Scan(&exists)
	if err != nil || exists {
		return err
	}
	// 001-schema.sql only creates roles; 002 grants to role `kontrol`. Create it when we may;
	// a database owner without CREATEROLE gets the tables without the grants.
	var hasRole bool
	if err := db.QueryRow(`SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'kontrol')`).Scan(&hasRole); err != nil {
		return err
	}
	if !hasRole {
		_, err := db.Exec(`CREATE ROLE kontrol`)
		hasRole = err == nil
	}
	files, err := filepath.Glob(filepath.Join(dir, "00[23]-*.sql"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no 002-*.sql / 003-*.sql files in %s", dir)
	}
	sort.Strings(files)
	for _, f := range files {
		b, err := ioutil.ReadFile(f)
		if err != nil {
			return err
		}
		script := string(b)
		if !hasRole {
			script = grants.ReplaceAllString(script, "")
		}
		if _, err := db.Exec(script); err != nil {
			return fmt.Errorf("%s: %s", filepath.Base(f), err)
		}
	}
	return nil
}
