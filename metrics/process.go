package metrics

import (
	"bytes"
	"os"
	"strconv"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/self/stat's CPU times: 100 on
// every Linux architecture edge is built for.
const clockTicks = 100

// RegisterProcess adds the process metrics Prometheus's client libraries
// name the same way: CPU seconds, resident and virtual memory, open file
// descriptors and the start time, read from /proc at each scrape (on a
// system without /proc they read 0).
func (r *Registry) RegisterProcess() {
	start := float64(time.Now().UnixNano()) / 1e9
	r.CounterFunc("process_cpu_seconds_total", "user and system CPU time spent, in seconds", func() float64 {
		f := statFields()
		if len(f) < 15 {
			return 0
		}
		u, _ := strconv.ParseFloat(f[13], 64)
		s, _ := strconv.ParseFloat(f[14], 64)
		return (u + s) / clockTicks
	})
	r.GaugeFunc("process_resident_memory_bytes", "resident memory size, in bytes", func() float64 {
		f := statFields()
		if len(f) < 24 {
			return 0
		}
		pages, _ := strconv.ParseFloat(f[23], 64)
		return pages * float64(os.Getpagesize())
	})
	r.GaugeFunc("process_virtual_memory_bytes", "virtual memory size, in bytes", func() float64 {
		f := statFields()
		if len(f) < 23 {
			return 0
		}
		v, _ := strconv.ParseFloat(f[22], 64)
		return v
	})
	r.GaugeFunc("process_open_fds", "open file descriptors", func() float64 {
		d, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			return 0
		}
		return float64(len(d))
	})
	r.GaugeFunc("process_start_time_seconds", "start time of the process since the Unix epoch, in seconds", func() float64 { return start })
}

// statFields returns /proc/self/stat's fields, numbered from 0 (pid), with
// the command name (which may hold spaces) as one field.
func statFields() []string {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return nil
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil
	}
	rest := bytes.Fields(b[i+1:])
	out := make([]string, 2, 2+len(rest))
	out[0], out[1] = "pid", "comm"
	for _, f := range rest {
		out = append(out, string(f))
	}
	return out
}
