module github.com/edgeml/edge

go 1.26.0

require (
	github.com/eclipse/paho.golang v0.23.0
	github.com/eclipse/paho.mqtt.golang v1.5.1
	github.com/klauspost/cpuid/v2 v2.4.2
	github.com/mochi-mqtt/server/v2 v2.7.9
	github.com/viterin/vek v0.4.3
	go.bug.st/serial v1.8.0
	golang.org/x/image v0.47.0
	golang.org/x/net v0.44.0
	golang.org/x/sys v0.49.0
	google.golang.org/protobuf v1.36.11
)

require (
	github.com/chewxy/math32 v1.10.1 // indirect
	github.com/gorilla/websocket v1.5.3 // indirect
	github.com/rs/xid v1.4.0 // indirect
	github.com/viterin/partial v1.1.0 // indirect
	golang.org/x/exp v0.0.0-20230817173708-d852ddb80c63 // indirect
	golang.org/x/sync v0.17.0 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)
