// gorules answers, one JSON line per JSON request line on stdin, how Go's standard library
// applies the rules kite for Python reimplements: which struct field a JSON key fills
// (encoding/json key folding), how json.Marshal spells a string or a float64,
// time.Duration.String and time.ParseDuration, and how jwt-go decodes a base64url segment.
package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"os"
	"strings"
	"time"
)

// fields has one string field per JSON name the Python side matches keys against.
type fields struct {
	Kite              *string `json:"kite"`
	WithArgs          *string `json:"withArgs"`
	ResponseCallback  *string `json:"responseCallback"`
	Authentication    *string `json:"authentication"`
	KeyID             *string `json:"keyId"`
	Sub               *string `json:"sub"`
	KontrolURL        *string `json:"kontrolURL"`
	HeartbeatInterval *string `json:"heartbeatInterval"`
}

type request struct {
	Rule    string  `json:"rule"`
	Object  string  `json:"object"`
	String  string  `json:"string"`
	Float   float64 `json:"float"`
	Ns      int64   `json:"ns"`
	Text    string  `json:"text"`
	Segment string  `json:"segment"`
}

func answer(req request) map[string]interface{} {
	switch req.Rule {
	case "fields":
		var f fields
		if err := json.Unmarshal([]byte(req.Object), &f); err != nil {
			return map[string]interface{}{"error": err.Error()}
		}
		out := map[string]interface{}{}
		for name, value := range map[string]*string{
			"kite": f.Kite, "withArgs": f.WithArgs, "responseCallback": f.ResponseCallback,
			"authentication": f.Authentication, "keyId": f.KeyID, "sub": f.Sub,
			"kontrolURL": f.KontrolURL, "heartbeatInterval": f.HeartbeatInterval,
		} {
			if value != nil {
				out[name] = *value
			}
		}
		return map[string]interface{}{"fields": out}
	case "string":
		data, _ := json.Marshal(req.String)
		return map[string]interface{}{"json": string(data)}
	case "float":
		data, err := json.Marshal(req.Float)
		if err != nil {
			return map[string]interface{}{"error": err.Error()}
		}
		return map[string]interface{}{"json": string(data)}
	case "format_duration":
		return map[string]interface{}{"text": time.Duration(req.Ns).String()}
	case "parse_duration":
		d, err := time.ParseDuration(req.Text)
		if err != nil {
			return map[string]interface{}{"error": err.Error()}
		}
		return map[string]interface{}{"ns": int64(d)}
	case "base64url":
		// jwt-go v3.2.0 DecodeSegment: pad to a multiple of four, then URLEncoding.
		seg := req.Segment
		if l := len(seg) % 4; l > 0 {
			seg += strings.Repeat("=", 4-l)
		}
		data, err := base64.URLEncoding.DecodeString(seg)
		if err != nil {
			return map[string]interface{}{"error": err.Error()}
		}
		return map[string]interface{}{"bytes": base64.StdEncoding.EncodeToString(data)}
	}
	return map[string]interface{}{"error": "unknown rule " + req.Rule}
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var req request
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			_ = out.Encode(map[string]interface{}{"error": "bad request: " + err.Error()})
			continue
		}
		_ = out.Encode(answer(req))
	}
}
