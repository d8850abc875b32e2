package service

import (
	"errors"
	"strings"
)

// Input topic templates: MQTT topic filters whose segments may also be
// {device} (the installation a reading comes from) and {channel} (the
// one channel a plain-value message carries).

// filterOf returns the MQTT subscription of an input topic template: its
// {device} and {channel} segments become +. Each must be a whole segment,
// at most once.
func filterOf(template string) (string, error) {
	segs := strings.Split(template, "/")
	count := map[string]int{}
	for i, s := range segs {
		switch {
		case s == "{device}" || s == "{channel}":
			count[s]++
			segs[i] = "+"
		case strings.Contains(s, "{device}") || strings.Contains(s, "{channel}"):
			return "", errors.New("{device} and {channel} must be whole topic segments")
		case strings.Contains(s, "#") && (s != "#" || i != len(segs)-1):
			return "", errors.New("# must be the last segment, alone")
		case strings.Contains(s, "+") && s != "+":
			return "", errors.New("+ must be a whole segment")
		}
	}
	for k, n := range count {
		if n > 1 {
			return "", errors.New(k + " appears more than once")
		}
	}
	return strings.Join(segs, "/"), nil
}

// matchTemplate matches topic against an input topic template and
// returns the device (the {device} segment, else the segments the other
// wildcards matched, joined by /; "" for none) and the {channel} segment.
func matchTemplate(template, topic string) (device, channel string, ok bool) {
	ts, ps := strings.Split(template, "/"), strings.Split(topic, "/")
	hasDev := false
	var dev string
	var wild []string
	for i, s := range ts {
		if s == "#" { // matches the rest, and the parent level itself
			if len(ps) < i {
				return "", "", false
			}
			wild = append(wild, strings.Join(ps[i:], "/"))
			ps, ts = ps[:i], ts[:i]
			break
		}
		if i >= len(ps) {
			return "", "", false
		}
		switch s {
		case "{device}", "{channel}":
			if ps[i] == "" {
				return "", "", false
			}
			if s == "{channel}" {
				channel = ps[i]
			} else {
				dev, hasDev = ps[i], true
			}
		case "+":
			wild = append(wild, ps[i])
		default:
			if s != ps[i] {
				return "", "", false
			}
		}
	}
	if len(ps) != len(ts) {
		return "", "", false
	}
	if !hasDev {
		dev = strings.Join(wild, "/")
	}
	return dev, channel, true
}
