// Command modreadme writes the Requirements, Providers, Inputs and Outputs tables of a module's
// README.md from the module's own .tf files, between the markers
//
//	<!-- BEGIN_TF_DOCS -->
//	<!-- END_TF_DOCS -->
//
// (terraform-docs' markers, so a README keeps working with it). terraform-docs itself is not
// served by the Go module proxy; terraform-config-inspect, which reads a module the way the
// Terraform registry does, is.
//
//	modreadme [-check] DIR...
//
// With -check nothing is written: it lists the READMEs that are not what it would write and
// exits 1 (CI runs it through `make docs-check`).
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	check := flag.Bool("check", false, "write nothing; exit 1 when a README is not current")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: modreadme [-check] MODULE_DIR...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	stale := 0
	for _, dir := range flag.Args() {
		changed, err := update(dir, !*check)
		if err != nil {
			fmt.Fprintf(os.Stderr, "modreadme: %s: %v\n", dir, err)
			os.Exit(1)
		}
		if changed {
			stale++
			if *check {
				fmt.Printf("%s is stale: run make docs and commit\n", filepath.Join(dir, "README.md"))
			} else {
				fmt.Printf("%s updated\n", filepath.Join(dir, "README.md"))
			}
		}
	}
	if *check && stale > 0 {
		os.Exit(1)
	}
}

// update renders the module in dir into its README.md and reports whether that changes the
// file; it writes the file only when write is set.
func update(dir string, write bool) (bool, error) {
	m, err := loadModule(dir)
	if err != nil {
		return false, err
	}
	path := filepath.Join(dir, "README.md")
	old, err := os.ReadFile(path)
	if err != nil {
		return false, fmt.Errorf("reading the README: %w", err)
	}
	updated, err := replaceSection(old, render(m))
	if err != nil {
		return false, fmt.Errorf("%s: %w", path, err)
	}
	if bytes.Equal(old, updated) {
		return false, nil
	}
	if write {
		if err := os.WriteFile(path, updated, 0o644); err != nil {
			return false, fmt.Errorf("writing the README: %w", err)
		}
	}
	return true, nil
}

const (
	beginMarker = "<!-- BEGIN_TF_DOCS -->"
	endMarker   = "<!-- END_TF_DOCS -->"
)

var errNoMarkers = errors.New("no " + beginMarker + " ... " + endMarker + " section: add the two markers where the tables go")

// replaceSection puts body between the markers of readme, keeping everything else as it is.
func replaceSection(readme []byte, body string) ([]byte, error) {
	begin := bytes.Index(readme, []byte(beginMarker))
	end := bytes.Index(readme, []byte(endMarker))
	if begin < 0 || end < 0 {
		return nil, errNoMarkers
	}
	if end < begin {
		return nil, fmt.Errorf("%s comes before %s", endMarker, beginMarker)
	}
	var b bytes.Buffer
	b.Write(readme[:begin+len(beginMarker)])
	b.WriteString("\n")
	b.WriteString(body)
	b.Write(readme[end:])
	return b.Bytes(), nil
}
