package service

import (
	"reflect"
	"testing"
)

// TestConfigDefaultsThenValidate: Defaults fills what Validate requires
// and Validate changes nothing; Check is both.
func TestConfigDefaultsThenValidate(t *testing.T) {
	cfg := Config{Groups: []GroupConfig{{Name: "site", Model: "m.edge", Score: true}}, MQTT: &MQTTConfig{URL: "mqtt://broker"}}
	if err := cfg.Validate(); err == nil {
		t.Error("a configuration without its defaults validated (queue 0, protocol empty)")
	}
	cfg.Defaults()
	before := cfg
	mq := *cfg.MQTT
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg.Groups, before.Groups) || *cfg.MQTT != mq || !reflect.DeepEqual(cfg.Input, before.Input) || cfg.Queue != before.Queue {
		t.Error("Validate changed the configuration")
	}
	if cfg.Groups[0].Topic != "edge/site/in" || cfg.Input.Source != "mqtt" || cfg.MQTT.Protocol != "5" || cfg.Queue != 1024 {
		t.Errorf("defaults: %+v, %+v", cfg.Groups[0], *cfg.MQTT)
	}
}
