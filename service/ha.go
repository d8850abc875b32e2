package service

import (
	"encoding/json"
	"regexp"
	"strconv"

	"github.com/edgeml/edge/anomaly"
)

// Home Assistant's MQTT discovery: for each stream, a retained config
// for an anomaly score sensor and one for an anomaly binary_sensor (device
// class problem), both reading the stream's state topic, both available
// while edge's status topic says online, both under one device per edge
// host. https://www.home-assistant.io/integrations/mqtt/ (discovery).

// retainer is a sink that can publish messages the broker keeps (MQTT).
type retainer interface {
	PublishRetained(topic string, payload []byte) error
}

// haDevice is the discovery payload's device block.
type haDevice struct {
	Identifiers  []string `json:"identifiers"`
	Name         string   `json:"name"`
	Manufacturer string   `json:"manufacturer"`
	Model        string   `json:"model"`
	SWVersion    string   `json:"sw_version,omitempty"`
}

// haConfig is a sensor's or binary_sensor's discovery payload.
type haConfig struct {
	Name                string   `json:"name"`
	UniqueID            string   `json:"unique_id"`
	StateTopic          string   `json:"state_topic"`
	ValueTemplate       string   `json:"value_template"`
	AvailabilityTopic   string   `json:"availability_topic,omitempty"`
	PayloadAvailable    string   `json:"payload_available,omitempty"`
	PayloadNotAvailable string   `json:"payload_not_available,omitempty"`
	StateClass          string   `json:"state_class,omitempty"`
	DeviceClass         string   `json:"device_class,omitempty"`
	PayloadOn           string   `json:"payload_on,omitempty"`
	PayloadOff          string   `json:"payload_off,omitempty"`
	Device              haDevice `json:"device"`
}

// haID keeps the characters discovery's node and object IDs allow.
var haID = regexp.MustCompile(`[^a-zA-Z0-9_-]+`)

// discover publishes the stream's discovery configs (with discovery on
// and an MQTT sink).
func (d *device) discover() {
	s := d.g.s
	r, ok := s.sink.(retainer)
	if s.cfg.MQTT == nil || s.cfg.MQTT.DiscoveryPrefix == "" || !ok || !d.g.cfg.Score {
		return
	}
	node := "edge_" + haID.ReplaceAllString(s.cfg.Host, "_")
	object := haID.ReplaceAllString(d.g.cfg.Name, "_")
	label := d.g.cfg.Name
	if d.name != "" {
		object += "_" + haID.ReplaceAllString(d.name, "_")
		label += " " + d.name
	}
	dev := haDevice{Identifiers: []string{node}, Name: "edge on " + s.cfg.Host, Manufacturer: "edge", Model: "edge run", SWVersion: s.version}
	base := haConfig{StateTopic: d.stateTopic(), Device: dev}
	if st := s.cfg.MQTT.status(); st != "" {
		base.AvailabilityTopic, base.PayloadAvailable, base.PayloadNotAvailable = st, "online", "offline"
	}
	score := base
	score.Name, score.UniqueID = label+" anomaly score", node+"_"+object+"_score"
	score.ValueTemplate, score.StateClass = "{{ value_json.score }}", "measurement"
	flag := base
	flag.Name, flag.UniqueID = label+" anomaly", node+"_"+object+"_anomaly"
	flag.ValueTemplate, flag.DeviceClass = "{{ 'ON' if value_json.flag else 'OFF' }}", "problem"
	flag.PayloadOn, flag.PayloadOff = "ON", "OFF"
	prefix := s.cfg.MQTT.DiscoveryPrefix
	for _, c := range []struct {
		component string
		cfg       haConfig
	}{{"sensor", score}, {"binary_sensor", flag}} {
		b, _ := json.Marshal(c.cfg)
		if err := r.PublishRetained(prefix+"/"+c.component+"/"+node+"/"+object+"_"+map[string]string{"sensor": "score", "binary_sensor": "anomaly"}[c.component]+"/config", b); err != nil {
			s.log.Warn("home assistant discovery not published", "group", d.g.cfg.Name, "device", d.name, "err", err)
		}
	}
}

// stateTopic is the stream's state topic ("" for none).
func (d *device) stateTopic() string {
	if d.g.s.cfg.Output.StateTopic == "" {
		return ""
	}
	return topic(d.g.s.cfg.Output.StateTopic, d.g.cfg.Name, d.name)
}

// publishState sends the stream's score and flag, retained, at every
// window and every flag change.
func (d *device) publishState(sc *anomaly.Score, changed bool) {
	t := d.stateTopic()
	r, ok := d.g.s.sink.(retainer)
	if t == "" || !ok || !(sc.Window || changed) {
		return
	}
	b := append(d.buf[:0], `{"score":`...)
	b = appendNum(b, sc.Score)
	b = append(b, `,"flag":`...)
	b = strconv.AppendBool(b, sc.Flag)
	b = append(b, `,"ts":`...)
	b = appendTime(b, sc.Time, sc.HasTime)
	b = append(b, '}')
	d.buf = b
	if err := r.PublishRetained(t, b); err != nil {
		d.sm.publishErr.Inc()
	}
}
