package main

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// armParts names Arm's cores by the part number of their MIDR, which
// Linux shows in /proc/cpuinfo as "CPU part" (implementer 0x41, Arm).
var armParts = map[string]string{
	"0xb76": "ARM1176 (Pi Zero, Pi 1)",
	"0xc07": "Cortex-A7 (Pi 2)",
	"0xd03": "Cortex-A53 (Pi 3, Zero 2 W, Pi 2 v1.2)",
	"0xd04": "Cortex-A35",
	"0xd05": "Cortex-A55",
	"0xd07": "Cortex-A57",
	"0xd08": "Cortex-A72 (Pi 4, Pi 400, CM4)",
	"0xd09": "Cortex-A73",
	"0xd0a": "Cortex-A75",
	"0xd0b": "Cortex-A76 (Pi 5, CM5)",
	"0xd0c": "Neoverse N1",
	"0xd0d": "Cortex-A77",
	"0xd41": "Cortex-A78",
	"0xd44": "Cortex-X1",
	"0xd46": "Cortex-A510",
	"0xd47": "Cortex-A710",
	"0xd4d": "Cortex-A715",
	"0xd80": "Cortex-A520",
	"0xd81": "Cortex-A720",
}

// armCore reads the first core's implementer and part from a
// /proc/cpuinfo text and names it ("" when it is not an Arm core).
func armCore(cpuinfo io.Reader) string {
	var impl, part string
	sc := bufio.NewScanner(cpuinfo)
	for sc.Scan() && (impl == "" || part == "") {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "CPU implementer":
			impl = strings.ToLower(strings.TrimSpace(v))
		case "CPU part":
			part = strings.ToLower(strings.TrimSpace(v))
		}
	}
	if impl != "0x41" || part == "" {
		return ""
	}
	name, ok := armParts[part]
	if !ok {
		name = "an Arm core"
	}
	return fmt.Sprintf("%s (MIDR implementer 0x41, part %s)", name, part)
}

// kernelHint says when a 32-bit build runs under a 64-bit kernel, where
// the arm64 build (static) runs as is, with the NEON int8 kernels.
func kernelHint(goarch, machine string) string {
	if goarch != "arm" || machine != "aarch64" {
		return ""
	}
	return "the kernel is 64-bit (uname -m: aarch64) under a 32-bit userland: edge's linux-arm64 build runs here as is (it is static) and uses the NEON int8 kernels; this 32-bit build runs pure Go"
}
