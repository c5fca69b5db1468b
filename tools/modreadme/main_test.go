package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReplaceSection(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, readme, want string
		err                bool
	}{
		{"replaces between the markers only",
			"intro\n<!-- BEGIN_TF_DOCS -->\nold\n<!-- END_TF_DOCS -->\ntail\n",
			"intro\n<!-- BEGIN_TF_DOCS -->\nnew\n<!-- END_TF_DOCS -->\ntail\n", false},
		{"fills an empty section",
			"<!-- BEGIN_TF_DOCS -->\n<!-- END_TF_DOCS -->\n",
			"<!-- BEGIN_TF_DOCS -->\nnew\n<!-- END_TF_DOCS -->\n", false},
		{"no markers", "just text\n", "", true},
		{"markers the wrong way round", "<!-- END_TF_DOCS -->\n<!-- BEGIN_TF_DOCS -->\n", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := replaceSection([]byte(tt.readme), "new\n")
			if (err != nil) != tt.err {
				t.Fatalf("error %v, want error %v", err, tt.err)
			}
			if string(got) != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestRender(t *testing.T) {
	t.Parallel()
	m, err := loadModule("testdata/mod")
	if err != nil {
		t.Fatal(err)
	}
	out := render(m)
	for _, want := range []string{
		"| terraform | `>= 1.5.0` |",
		"| inferstack (`inferstack/inferstack`) | `~> 0.2` |",
		// Required: no default, a yes; a pipe in a description escaped.
		"[name](#input_name) | Name \\| with a pipe. | `string` | n/a | yes |",
		// Optional and sensitive: its null default shown, and said to be sensitive.
		"[key](#input_key) | A secret. (sensitive) | `string` | `null` | no |",
		// A type and a default over several lines go in <pre> cells.
		"<pre>list(object({<br>    name = string<br>    port = optional(number, 22)<br>  }))</pre>",
		"<pre>[<br>  {<br>    \"name\": \"a\",<br>    \"port\": 22<br>  }<br>]</pre> | no |",
		"[id](#output_id) | The id. |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("render lacks %q:\n%s", want, out)
		}
	}
	// Sorted by name: hosts, key, name.
	if h, k, n := strings.Index(out, "input_hosts"), strings.Index(out, "input_key"), strings.Index(out, "input_name"); !(h < k && k < n) {
		t.Errorf("inputs not sorted by name:\n%s", out)
	}
}

// update writes only with write set, reports a change once, and leaves the hand-written parts.
func TestUpdate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, f := range []string{"main.tf", "README.md"} {
		b, err := os.ReadFile(filepath.Join("testdata/mod", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	readme := filepath.Join(dir, "README.md")
	before, _ := os.ReadFile(readme)

	if changed, err := update(dir, false); err != nil || !changed {
		t.Fatalf("check of a stale README: changed %v, error %v; want a change", changed, err)
	}
	if now, _ := os.ReadFile(readme); string(now) != string(before) {
		t.Fatal("a check wrote the README")
	}
	if changed, err := update(dir, true); err != nil || !changed {
		t.Fatalf("update: changed %v, error %v", changed, err)
	}
	after, _ := os.ReadFile(readme)
	if !strings.Contains(string(after), "Hand-written text stays.") || !strings.Contains(string(after), "More hand-written text.") ||
		strings.Contains(string(after), "stale tables") || !strings.Contains(string(after), "## Inputs") {
		t.Errorf("README after update:\n%s", after)
	}
	if changed, err := update(dir, false); err != nil || changed {
		t.Errorf("second check: changed %v, error %v; want none", changed, err)
	}

	if err := os.WriteFile(readme, []byte("# no markers\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := update(dir, true); !errors.Is(err, errNoMarkers) {
		t.Errorf("README without markers: error %v, want errNoMarkers", err)
	}
}
