package service

import "github.com/edgeml/edge/metrics"

// Metrics are the service's metrics. The per-stream ones carry the group
// and device labels (no device label for a group's one stream).
type Metrics struct {
	Reg        *metrics.Registry
	In         *metrics.CounterVec // readings accepted
	Invalid    *metrics.CounterVec // payloads rejected (malformed, unknown group: no group label); group only
	Dropped    *metrics.CounterVec // readings dropped by the timestamp policy (see stream.Clock)
	Bridged    *metrics.CounterVec // time gaps the streams bridged
	Restarts   *metrics.CounterVec // outages that restarted a stream
	Imputed    *metrics.CounterVec // values imputed
	Cleaned    *metrics.CounterVec // cleaned rows published
	Windows    *metrics.CounterVec // windows scored
	Anomalies  *metrics.CounterVec // anomaly events started
	PublishErr *metrics.CounterVec // results the sink refused (e.g. offline queue full)
	Latency    *metrics.HistogramVec
	Model      *metrics.GaugeVec // 1, labelled with the group's model file and its sha256
	Score      *metrics.GaugeVec // the last row's score
	Flag       *metrics.GaugeVec // 1 while the stream is flagged
	// SensorSeen is when each channel last had a valid value (Unix
	// seconds, wall clock): alert on time() - edge_sensor_last_valid_timestamp_seconds.
	SensorSeen *metrics.GaugeVec
	Devices    *metrics.GaugeVec   // devices with a stream, per group
	Refused    *metrics.CounterVec // readings of new devices beyond max_devices, per group
	Expired    *metrics.CounterVec // devices whose stream ended after device_idle without readings, per group
	// The input log (mqtt.input_log).
	Replayed    *metrics.Counter // messages of an earlier run processed again at the start
	Redelivered *metrics.Counter // broker redeliveries of replayed messages, dropped
	LogFull     *metrics.Counter // messages that could not be logged (the log full)
	LogFlushes  *metrics.Counter // device streams flushed early to free the log
	LogBytes    *metrics.Gauge   // bytes in the log
}

func newMetrics() *Metrics {
	r := metrics.New()
	gd := []string{"group", "device"}
	return &Metrics{Reg: r,
		In:          r.CounterVec("edge_readings_in_total", "readings accepted from the input", gd...),
		Invalid:     r.CounterVec("edge_readings_invalid_total", "payloads rejected: malformed, non-numeric or for an unknown group", "group"),
		Dropped:     r.CounterVec("edge_readings_dropped_total", "readings dropped by the timestamp policy: repeated, earlier, far-future or missing timestamps", gd...),
		Bridged:     r.CounterVec("edge_gaps_bridged_total", "time gaps (over 1.5 sampling periods, up to max_gap) the streams went on across", gd...),
		Restarts:    r.CounterVec("edge_stream_restarts_total", "outages longer than max_gap sampling periods that restarted a stream", gd...),
		Imputed:     r.CounterVec("edge_values_imputed_total", "missing or invalid values imputed", gd...),
		Cleaned:     r.CounterVec("edge_readings_out_total", "cleaned readings published", gd...),
		Windows:     r.CounterVec("edge_windows_scored_total", "windows scored for anomalies", gd...),
		Anomalies:   r.CounterVec("edge_anomalies_total", "anomaly events started", gd...),
		PublishErr:  r.CounterVec("edge_publish_failures_total", "results that could not be handed to the output (offline queue full)", gd...),
		Latency:     r.HistogramVec("edge_inference_seconds", "time to process a reading that completed a window (inference included)", metrics.ExponentialBuckets(1e-6, 2, 20), "group"),
		Model:       r.GaugeVec("edge_model_info", "the model each group runs: its file and the file's sha256", "group", "file", "sha256"),
		Score:       r.GaugeVec("edge_score", "the anomaly score of the stream's last scored row, in [0, 1] (0.5 at the threshold)", gd...),
		Flag:        r.GaugeVec("edge_flag", "1 while the stream's rows are flagged as anomalous, else 0", gd...),
		SensorSeen:  r.GaugeVec("edge_sensor_last_valid_timestamp_seconds", "when the channel last had a valid value (Unix seconds, wall clock)", "group", "device", "channel"),
		Devices:     r.GaugeVec("edge_devices", "devices with a stream of their own", "group"),
		Refused:     r.CounterVec("edge_devices_refused_total", "readings of new devices refused because the group has max_devices streams", "group"),
		Expired:     r.CounterVec("edge_devices_expired_total", "device streams ended after device_idle seconds without a reading", "group"),
		Replayed:    r.Counter("edge_input_log_replayed_total", "messages of an earlier run, still in the input log, processed again at the start"),
		Redelivered: r.Counter("edge_input_log_redelivered_total", "broker redeliveries of messages the input log had already replayed, dropped"),
		LogFull:     r.Counter("edge_input_log_full_total", "messages processed without being logged because the input log was full"),
		LogFlushes:  r.Counter("edge_input_log_flushes_total", "device streams flushed early because their held readings kept the input log over half full"),
		LogBytes:    r.Gauge("edge_input_log_bytes", "bytes of messages in the input log"),
	}
}

// streamMetrics are one stream's series (a group's device).
type streamMetrics struct {
	in, dropped, bridged, restarts, imputed, cleaned, windows, anomalies, publishErr *metrics.Counter
	latency                                                                          *metrics.Histogram
	score, flag                                                                      *metrics.Gauge
	seen                                                                             []*metrics.Gauge // per channel
}

func (m *Metrics) stream(group, device string, channels []string) streamMetrics {
	sm := streamMetrics{in: m.In.With(group, device), dropped: m.Dropped.With(group, device), bridged: m.Bridged.With(group, device),
		restarts: m.Restarts.With(group, device), imputed: m.Imputed.With(group, device), cleaned: m.Cleaned.With(group, device),
		windows: m.Windows.With(group, device), anomalies: m.Anomalies.With(group, device), publishErr: m.PublishErr.With(group, device),
		latency: m.Latency.With(group), score: m.Score.With(group, device), flag: m.Flag.With(group, device)}
	for _, c := range channels {
		sm.seen = append(sm.seen, m.SensorSeen.With(group, device, c))
	}
	return sm
}

// forget removes an expired device's series, so that devices that come
// and go do not grow the metrics without bound.
func (m *Metrics) forget(group, device string, channels []string) {
	for _, c := range []*metrics.CounterVec{m.In, m.Dropped, m.Bridged, m.Restarts, m.Imputed, m.Cleaned, m.Windows, m.Anomalies, m.PublishErr} {
		c.Delete(group, device)
	}
	m.Score.Delete(group, device)
	m.Flag.Delete(group, device)
	for _, c := range channels {
		m.SensorSeen.Delete(group, device, c)
	}
}
