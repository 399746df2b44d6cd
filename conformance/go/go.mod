module kitepy.test/conformance/go

go 1.19

require (
	github.com/BurntSushi/toml v0.3.0
	github.com/cenkalti/backoff v1.1.0
	github.com/coreos/etcd v3.3.8+incompatible
	github.com/coreos/go-semver v0.2.0
	github.com/dgrijalva/jwt-go v3.2.0+incompatible
	github.com/fatih/camelcase v0.0.0-20171027104257-44e46d280b43
	github.com/fatih/structs v0.0.0-20170103081050-a720dfa8df58
	github.com/gorilla/context v1.1.1
	github.com/gorilla/mux v1.6.2
	github.com/gorilla/websocket v1.2.0
	github.com/hashicorp/go-version v0.0.0-20180322230233-23480c066577
	github.com/igm/sockjs-go v0.0.0-20171030210102-c8a8c6429d10
	github.com/juju/ratelimit v0.0.0-20171026090426-59fac5042749
	github.com/koding/cache v0.0.0-20161222233015-e8a81b0b3f20
	github.com/koding/kite v0.0.0-20180710021347-baa1a54919e3
	github.com/koding/logging v0.0.0-20160720134017-8b5a689ed69b
	github.com/koding/multiconfig v0.0.0-20171124222453-69c27309b2d7
	github.com/lann/builder v0.0.0-20180216234317-1b87b36280d0
	github.com/lann/ps v0.0.0-20150810152359-62de8c46ede0
	github.com/lann/squirrel v0.0.0-20170825200431-a6b93000bd21
	// Gopkg.lock pins lib/pq 90697d6 (2018), which cannot log in with SCRAM-SHA-256 (the
	// PostgreSQL default since 14); v1.1.1 is the first release with SCRAM. Driver only.
	github.com/lib/pq v1.1.1
	github.com/satori/go.uuid v0.0.0-20180103174451-36e9d2ebbde5
	github.com/ugorji/go v1.1.1
	gopkg.in/yaml.v2 v2.2.1
)

require (
	golang.org/x/crypto v0.0.0-20180617042118-027cca12c2d6 // indirect
	golang.org/x/net v0.0.0-20180611182652-db08ff08e862 // indirect
	golang.org/x/sys v0.0.0-20180616030259-6c888cc515d3 // indirect
	gopkg.in/mgo.v2 v2.0.0-20160818020120-3f83fa500528 // indirect
)
