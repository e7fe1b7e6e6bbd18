module posagent

go 1.26.0

require (
	github.com/creack/pty v1.1.24
	github.com/ebfe/scard v0.0.0-20241214075232-7af069cabc25
	github.com/moov-io/iso8583 v0.26.1
	go.bug.st/serial v1.8.0
	go.etcd.io/bbolt v1.5.0
	golang.org/x/sys v0.50.0
	golang.org/x/text v0.42.0
	pgregory.net/rapid v1.3.0
)

require (
	github.com/kr/text v0.2.0 // indirect
	github.com/yerden/go-util v1.1.4 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)
