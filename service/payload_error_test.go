package service

import (
	"errors"
	"testing"

	"github.com/edgeml/edge/dataset"
)

// TestPayloadDataError: a bad field of a payload is a *dataset.DataError
// naming the field, whose cause errors.Is finds.
func TestPayloadDataError(t *testing.T) {
	names := []string{"temp", "load"}
	for payload, field := range map[string]string{
		`{"ts": "noon", "temp": 1, "load": 2}`: "ts",
		`{"temp": "hot", "load": 2}`:           "temp",
		`{"values": [1, "x"]}`:                 "load",
	} {
		_, err := ParseJSON([]byte(payload), "g", names)
		var de *dataset.DataError
		if !errors.As(err, &de) || de.Field != field {
			t.Errorf("%s: %v, want a DataError for field %q", payload, err, field)
		}
	}
}

// TestConfigModeSpellings: the configuration takes the denoising modes as
// the command line does.
func TestConfigModeSpellings(t *testing.T) {
	for mode, ok := range map[string]bool{"centred": true, "centered": true, "causal": true, "sideways": false} {
		if validMode(mode) != ok {
			t.Errorf("mode %q accepted: %v, want %v", mode, !ok, ok)
		}
	}
}
