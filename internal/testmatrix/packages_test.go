//go:build !purego

package testmatrix

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// checkDebs: each .deb release.sh writes has the control fields for its
// architecture, the binary for that machine in /usr/bin, the unit
// starting /usr/bin/edge, the configuration as a conffile, maintainer
// scripts that parse, and a root directory of mode 0755.
func checkDebs(t *testing.T, out string) {
	t.Helper()
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Log("NOT CHECKED: no dpkg-deb, so release.sh built no .deb")
		return
	}
	for _, c := range []struct {
		file, arch string
		machine    elf.Machine
	}{
		{"edge_0~test_amd64.deb", "amd64", elf.EM_X86_64},
		{"edge_0~test_arm64.deb", "arm64", elf.EM_AARCH64},
		{"edge_0~test_armhf.deb", "armhf", elf.EM_ARM},
		{"edge_0~test_armhf-armv6.deb", "armhf", elf.EM_ARM},
	} {
		deb := filepath.Join(out, c.file)
		fields, err := exec.Command("dpkg-deb", "-f", deb, "Package", "Version", "Architecture").Output()
		if err != nil {
			t.Errorf("%s: %v", c.file, err)
			continue
		}
		if want := "Package: edge\nVersion: 0~test\nArchitecture: " + c.arch + "\n"; string(fields) != want {
			t.Errorf("%s: control fields\n%s\nwant\n%s", c.file, fields, want)
		}
		list, _ := exec.Command("dpkg-deb", "-c", deb).Output()
		if !bytes.HasPrefix(list, []byte("drwxr-xr-x root/root")) {
			t.Errorf("%s: the root directory is not 0755 root/root:\n%s", c.file, list)
		}
		dir := t.TempDir()
		if o, err := exec.Command("dpkg-deb", "-R", deb, dir).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", c.file, err, o)
		}
		checkDebTree(t, c.file, dir, c.machine)
	}
}

func checkDebTree(t *testing.T, name, dir string, machine elf.Machine) {
	t.Helper()
	f, err := elf.Open(filepath.Join(dir, "usr/bin/edge"))
	if err != nil {
		t.Errorf("%s: /usr/bin/edge: %v", name, err)
	} else {
		if f.Machine != machine {
			t.Errorf("%s: /usr/bin/edge is for %v, want %v", name, f.Machine, machine)
		}
		f.Close()
	}
	unit, err := os.ReadFile(filepath.Join(dir, "usr/lib/systemd/system/edge.service"))
	if err != nil || !strings.Contains(string(unit), "\nExecStart=/usr/bin/edge run --config /etc/edge/edge.json\n") {
		t.Errorf("%s: the unit does not start /usr/bin/edge (%v)", name, err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "DEBIAN/conffiles")); err != nil || string(b) != "/etc/edge/edge.json\n" {
		t.Errorf("%s: conffiles %q (%v)", name, b, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "etc/edge/edge.json")); err != nil {
		t.Errorf("%s: %v", name, err)
	}
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		p := filepath.Join(dir, "DEBIAN", s)
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o755 {
			t.Errorf("%s: %s missing or not executable (%v)", name, s, err)
			continue
		}
		if o, err := exec.Command("sh", "-n", p).CombinedOutput(); err != nil {
			t.Errorf("%s: %s does not parse: %v\n%s", name, s, err, o)
		}
	}
}

// checkImageContext: the container image's build context has the
// Dockerfile and, under the directory each platform's TARGETOS,
// TARGETARCH and TARGETVARIANT name, the binary for that machine, and a
// CA bundle; the Dockerfile copies from those names and runs edge as a
// non-root user.
func checkImageContext(t *testing.T, out string) {
	t.Helper()
	ctx := filepath.Join(out, "docker")
	df, err := os.ReadFile(filepath.Join(ctx, "Dockerfile"))
	if err != nil {
		t.Fatalf("image context: %v", err)
	}
	for _, want := range []string{"FROM scratch\n", "COPY ${TARGETOS}_${TARGETARCH}${TARGETVARIANT}/edge /usr/bin/edge\n", "USER 65532:65532\n", `ENTRYPOINT ["/usr/bin/edge"]`} {
		if !strings.Contains(string(df), want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	for dir, m := range map[string]elf.Machine{"linux_amd64": elf.EM_X86_64, "linux_arm64": elf.EM_AARCH64, "linux_arm64v8": elf.EM_AARCH64, "linux_armv7": elf.EM_ARM, "linux_armv6": elf.EM_ARM} {
		f, err := elf.Open(filepath.Join(ctx, dir, "edge"))
		if err != nil {
			t.Errorf("image context %s: %v", dir, err)
			continue
		}
		if f.Machine != m {
			t.Errorf("image context %s: binary for %v, want %v", dir, f.Machine, m)
		}
		f.Close()
	}
	if _, err := os.Stat(filepath.Join(ctx, "ca-certificates.crt")); err != nil {
		t.Errorf("image context: %v", err)
	}
}
