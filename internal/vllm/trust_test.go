package vllm

import (
	"strings"
	"testing"
)

// injection is the review's example: an extra_args value that, kept raw in a unit, adds a line
// systemd runs as root before the replica starts.
const injection = "x\nExecStartPre=/usr/bin/touch /root/p\n#"

const testDigest = "sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// TestValidateRefusesControlCharacters: every value that reaches a unit, the env file or a shell
// word on the node is refused at plan time with a control character in it, naming the attribute.
func TestValidateRefusesControlCharacters(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		modify func(*Spec)
		attr   string
	}{
		{"extra_args value (the review's example)", func(s *Spec) { s.Engine.ExtraArgs = []string{"--chat-template", injection} }, AttrExtraArgs},
		{"extra_args inline value", func(s *Spec) { s.Engine.ExtraArgs = []string{"--chat-template=" + injection} }, AttrExtraArgs},
		{"extra_args json", func(s *Spec) { s.Engine.ExtraArgs = []string{"--compilation-config", "{\"mode\":\r3}"} }, AttrExtraArgs},
		{"extra_args NUL", func(s *Spec) { s.Engine.ExtraArgs = []string{"--chat-template", "a\x00b"} }, AttrExtraArgs},
		{"extra_args tab", func(s *Spec) { s.Engine.ExtraArgs = []string{"--chat-template", "a\tb"} }, AttrExtraArgs},
		{"served name", func(s *Spec) { s.ServedModelName = "chat\nExecStartPre=/bin/true" }, AttrServedModelName},
		{"lora name", func(s *Spec) { s.LoRAAdapters = []LoRAAdapter{{Name: "sql\n", Source: "a/b"}} }, AttrLoRAAdapters + "[0].name"},
		{"lora path", func(s *Spec) { s.LoRAAdapters = []LoRAAdapter{{Name: "sql", Source: "/srv/a\nb"}} }, AttrLoRAAdapters + "[0].source"},
		{"image", func(s *Spec) { s.Engine.Image = "vllm/vllm-openai:v1\nExecStartPre=/bin/true" }, AttrImage},
		{"env value", func(s *Spec) { s.Env = map[string]string{"A": "b\x1bc"} }, AttrEnv},
		{"env value DEL", func(s *Spec) { s.Env = map[string]string{"A": "b\x7f"} }, AttrEnv},
		{"secret name", func(s *Spec) {
			s.Secrets.APIKey = SecretRef{Source: SecretAWSSecretsManager, Name: "key\rx"}
		}, AttrAPIKey},
		{"secret json key", func(s *Spec) {
			s.Secrets.APIKey = SecretRef{Source: SecretAWSSecretsManager, Name: "key", JSONKey: "k\rx"}
		}, AttrAPIKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := minimalSpec()
			tc.modify(&s)
			var found bool
			for _, se := range SpecErrors(s.Validate()) {
				if se.Attribute == tc.attr && (strings.Contains(se.Detail, "control character") || strings.Contains(se.Detail, "not a container image")) {
					found = true
				}
			}
			if !found {
				t.Fatalf("Validate = %v, want a control-character error on %s", s.Validate(), tc.attr)
			}
		})
	}
}

// TestUnitRendersHostileWordsOnOneLine: below Validate, the unit renderer itself never lets a
// value start a line (defence in depth, for a caller that skipped Validate).
func TestUnitRendersHostileWordsOnOneLine(t *testing.T) {
	t.Parallel()
	s := minimalSpec().withDefaults()
	s.Engine.ExtraArgs = []string{"--chat-template", injection}
	s.Env = map[string]string{"A": "1\nExecStartPre=/bin/false"}
	s.Model.ID = "a/b\nExecStartPost=/bin/true"
	unit := s.unit(Replica{Index: 0}, s.template(Replica{Index: 0}))
	checkUnitShape(t, unit)
	if !strings.Contains(unit, `'x\x0aExecStartPre=/usr/bin/touch /root/p\x0a#'`) {
		t.Errorf("the extra_args value is not rendered as one C-escaped word:\n%s", unit)
	}
}

// checkUnitShape fails unless the unit has exactly the directives the renderer writes, one
// ExecStartPre, ExecStart, ExecStop each: nothing a value could have added.
func checkUnitShape(t *testing.T, unit string) {
	t.Helper()
	count := map[string]int{}
	cont := false
	for _, line := range strings.Split(strings.TrimRight(unit, "\n"), "\n") {
		wasCont := cont
		cont = strings.HasSuffix(line, `\`)
		if wasCont || line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "[") {
			continue
		}
		key, _, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("unit line %q is no directive:\n%s", line, unit)
		}
		count[key]++
	}
	for _, k := range []string{"ExecStartPre", "ExecStart", "ExecStop", "Description", "Restart"} {
		if count[k] != 1 {
			t.Fatalf("unit has %d %s= lines, want 1:\n%s", count[k], k, unit)
		}
	}
	for k := range count {
		switch k {
		case "Description", "Wants", "After", "Requires", "StartLimitIntervalSec", "Type", "Restart", "RestartSec",
			"TimeoutStartSec", "TimeoutStopSec", "SyslogIdentifier", "ExecStartPre", "ExecStart", "ExecStop", "WantedBy":
		default:
			t.Fatalf("unit has an unexpected directive %s=:\n%s", k, unit)
		}
	}
}

func TestImagePinning(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		image, want string // want: substring of the error; "" accepted
	}{
		{"vllm/vllm-openai:v0.22.0", ""},
		{"vllm/vllm-openai@" + testDigest, ""},
		{"vllm/vllm-openai:v0.22.0@" + testDigest, ""},
		{"registry.example.com:5000/vllm/vllm-openai@" + testDigest, ""},
		{"vllm/vllm-openai", "has no tag"},
		{"vllm/vllm-openai:latest", "moving tag :latest"},
		{"registry.example.com:5000/vllm", "has no tag"},
		{"vllm/vllm-openai@sha256:abc", "digest"},
		{"vllm/vllm-openai@md5:" + strings.Repeat("0", 32), "digest"},
	} {
		t.Run(tc.image, func(t *testing.T) {
			t.Parallel()
			s := minimalSpec()
			s.Engine.Image = tc.image
			var got string
			for _, se := range SpecErrors(s.Validate()) {
				if se.Attribute == AttrImage {
					got = se.Detail
				}
			}
			if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
				t.Fatalf("engine.image error = %q, want %q", got, tc.want)
			}
			if tc.want != "" {
				return
			}
			// A digest-pinned image is rendered as given: docker, podman (docker.io/ only
			// prefixed), the spec the node pulls, and read back from it.
			for _, rt := range []Runtime{RuntimeDocker, RuntimePodman} {
				s.Runtime = rt
				b, err := NodeBundle(s)
				if err != nil {
					t.Fatal(err)
				}
				want := tc.image
				if rt == RuntimePodman {
					want = qualifyImage(tc.image)
				}
				if !strings.Contains(b.Units[0].Content, " "+want+" ") && !strings.Contains(b.Units[0].Content, "\t"+want+" ") {
					t.Errorf("%s unit does not run %s:\n%s", rt, want, b.Units[0].Content)
				}
				applied, err := ParseSpecJSON(b.SpecJSON)
				if err != nil || applied.Image != want || applied.ServedModelName != s.Model.ID {
					t.Errorf("%s spec reads back %+v, %v; want image %s", rt, applied, err, want)
				}
			}
		})
	}
}

// FuzzCheckExtraArgs: whatever extra_args pass the check render into a unit with no directive
// of their own, and the check never passes a control character.
func FuzzCheckExtraArgs(f *testing.F) {
	for _, seed := range []string{
		"--enforce-eager",
		"--max-lora-rank\x1f64",
		"--chat-template\x1f" + injection,
		"--compilation-config\x1f{\"mode\": 3}",
		"-O3\x1f--seed\x1f-1",
		"--chat-template='a b'\x1f--middleware\x1fa.b",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, joined string) {
		args := strings.Split(joined, "\x1f")
		errs := CheckExtraArgs(args)
		for _, a := range args {
			if HasControl(a) && len(errs) == 0 {
				t.Fatalf("CheckExtraArgs passed %q, which holds a control character", a)
			}
		}
		s := minimalSpec()
		s.Engine.ExtraArgs = args
		if s.Validate() != nil {
			// Rendered anyway below Validate: still no directive of its own.
			d := s.withDefaults()
			checkUnitShape(t, d.unit(Replica{Index: 0}, d.template(Replica{Index: 0})))
			return
		}
		b, err := NodeBundle(s)
		if err != nil {
			t.Fatal(err)
		}
		checkUnitShape(t, b.Units[0].Content)
	})
}

// FuzzUnitRendering: any served name, env value, adapter and image either is refused by
// Validate or renders a unit (and container command) whose lines are only the renderer's own.
func FuzzUnitRendering(f *testing.F) {
	f.Add("chat", "A", "1", "sql", "/srv/a", "vllm/vllm-openai:v0.22.0")
	f.Add("chat\nExecStartPre=/bin/true", "A", "x\ny", "s\r", "/srv/a\x00", "vllm/vllm-openai:latest")
	f.Add("c$HOME%n", "B", "'\"\\ $x %i", "n:1", "o/r", "vllm/vllm-openai@"+testDigest)
	f.Fuzz(func(t *testing.T, served, envKey, envValue, loraName, loraSource, image string) {
		s := minimalSpec()
		s.ServedModelName, s.Engine.Image = served, image
		s.Env = map[string]string{envKey: envValue}
		s.LoRAAdapters = []LoRAAdapter{{Name: loraName, Source: loraSource}}
		p := Placement{GPUs: []int{0}, Port: 8000, ListenAddress: "10.0.0.1", CacheDir: "/var/cache/hf"}
		if err := s.Validate(); err != nil {
			// A refused value: the renderer below Validate must still hold it on its line.
			d := s.withDefaults()
			if pl, err := d.resolve(Replica{Index: 0}, p); err == nil {
				checkUnitShape(t, d.unit(Replica{Index: 0}, pl))
			}
			return
		}
		for _, v := range []string{served, envValue, loraName, loraSource, image} {
			if HasControl(v) {
				t.Fatalf("Validate passed %q, which holds a control character", v)
			}
		}
		unit, err := s.Unit(Replica{Index: 0}, p)
		if err != nil {
			t.Fatal(err)
		}
		checkUnitShape(t, unit)
	})
}
