// Package peer holds the little helpers the four conformance programs share:
// reading "@file" arguments, loading a kite key into a config, and printing
// JSON lines the way the recorded programs did (sorted keys, no HTML escaping).
package peer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/ioutil"
	"os"
	"strings"

	"github.com/koding/kite"
	"github.com/koding/kite/config"
	"github.com/koding/kite/kitekey"
)

// Arg returns s, or the trimmed contents of the file it names when it starts with "@".
func Arg(s string) (string, error) {
	if !strings.HasPrefix(s, "@") {
		return s, nil
	}
	b, err := ioutil.ReadFile(s[1:])
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// Config returns config.New(), filled from the kite key file when path is not empty.
func Config(path string) (*config.Config, error) {
	cfg := config.New()
	if path == "" {
		return cfg, nil
	}
	tok, err := kitekey.ParseFile(path)
	if err != nil {
		return nil, fmt.Errorf("kite key %s: %s", path, err)
	}
	if err := cfg.ReadToken(tok); err != nil {
		return nil, fmt.Errorf("kite key %s: %s", path, err)
	}
	return cfg, nil
}

// Print writes v as one JSON line on stdout (map keys sorted, <>& left as they are).
func Print(v interface{}) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		fmt.Fprintf(os.Stderr, "cannot encode output: %s\n", err)
		os.Exit(2)
	}
	os.Stdout.Write(buf.Bytes())
}

// ErrorMap turns an error returned by Tell into the {"type","message","code","id"} object
// the recorded programs printed (a plain error becomes type "goError").
func ErrorMap(err error) map[string]interface{} {
	switch e := err.(type) {
	case *kite.Error:
		return map[string]interface{}{"type": e.Type, "message": e.Message, "code": e.CodeVal, "id": e.RequestID}
	case kite.Error:
		return map[string]interface{}{"type": e.Type, "message": e.Message, "code": e.CodeVal, "id": e.RequestID}
	default:
		return map[string]interface{}{"type": "goError", "message": err.Error(), "code": "", "id": ""}
	}
}

// Fail prints {"error": ...} for err and exits with status 1.
func Fail(err error) {
	Print(map[string]interface{}{"error": ErrorMap(err)})
	os.Exit(1)
}

// Die prints a message on stderr and exits with status 2 (usage or set-up problems).
func Die(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(2)
}
