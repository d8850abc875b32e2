package main

import (
	"strings"
	"testing"
)

// TestARMCore: the core is named from /proc/cpuinfo's MIDR fields, as a
// Pi 4 (64-bit), a Pi Zero (32-bit) and an x86 machine show them.
func TestARMCore(t *testing.T) {
	for _, c := range []struct{ cpuinfo, want string }{
		{"processor\t: 0\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd08\nCPU revision\t: 3\n", "Cortex-A72 (Pi 4, Pi 400, CM4) (MIDR implementer 0x41, part 0xd08)"},
		{"processor\t: 0\nmodel name\t: ARMv6-compatible processor rev 7 (v6l)\nCPU implementer\t: 0x41\nCPU architecture: 7\nCPU variant\t: 0x0\nCPU part\t: 0xb76\n", "ARM1176 (Pi Zero, Pi 1) (MIDR implementer 0x41, part 0xb76)"},
		{"processor\t: 0\nCPU implementer\t: 0x41\nCPU part\t: 0xfff\n", "an Arm core (MIDR implementer 0x41, part 0xfff)"},
		{"processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\n", ""},
		{"CPU implementer\t: 0x61\nCPU part\t: 0x022\n", ""}, // Apple: not named here
	} {
		if got := armCore(strings.NewReader(c.cpuinfo)); got != c.want {
			t.Errorf("armCore = %q, want %q", got, c.want)
		}
	}
}

// TestKernelHint: only a 32-bit build under a 64-bit kernel gets the hint.
func TestKernelHint(t *testing.T) {
	if h := kernelHint("arm", "aarch64"); !strings.Contains(h, "linux-arm64 build") {
		t.Errorf("32-bit build, 64-bit kernel: %q", h)
	}
	for _, c := range [][2]string{{"arm", "armv7l"}, {"arm64", "aarch64"}, {"amd64", "x86_64"}} {
		if h := kernelHint(c[0], c[1]); h != "" {
			t.Errorf("%s on %s: %q, want no hint", c[0], c[1], h)
		}
	}
}
