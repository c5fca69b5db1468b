package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-config-inspect/tfconfig"
)

// loadModule reads the module in dir; a module with errors (an unparsable file) is refused
// rather than documented half.
func loadModule(dir string) (*tfconfig.Module, error) {
	m, diags := tfconfig.LoadModule(dir)
	if diags.HasErrors() {
		return nil, fmt.Errorf("reading the module: %w", diags.Err())
	}
	return m, nil
}

// render writes the four tables, in the layout terraform-docs' markdown table format uses, so
// READMEs read the same as those of other modules. Rows are sorted by name: the output depends
// on the module alone, never on file order or map iteration.
func render(m *tfconfig.Module) string {
	var b strings.Builder

	b.WriteString("## Requirements\n\n")
	b.WriteString("| Name | Version |\n|------|---------|\n")
	if len(m.RequiredCore) > 0 {
		fmt.Fprintf(&b, "| terraform | %s |\n", code(strings.Join(m.RequiredCore, ", ")))
	}
	names := sortedKeys(m.RequiredProviders)
	for _, name := range names {
		p := m.RequiredProviders[name]
		fmt.Fprintf(&b, "| %s | %s |\n", providerLink(name, p.Source), versionCell(p.VersionConstraints))
	}

	b.WriteString("\n## Providers\n\n")
	// The providers the module's resources and data sources use, with the constraint the
	// module puts on each.
	used := map[string]bool{}
	for _, r := range m.ManagedResources {
		used[r.Provider.Name] = true
	}
	for _, r := range m.DataResources {
		used[r.Provider.Name] = true
	}
	if len(used) == 0 {
		b.WriteString("No providers.\n")
	} else {
		b.WriteString("| Name | Version |\n|------|---------|\n")
		for _, name := range sortedKeys(used) {
			var constraints []string
			source := ""
			if p, ok := m.RequiredProviders[name]; ok {
				constraints, source = p.VersionConstraints, p.Source
			}
			fmt.Fprintf(&b, "| %s | %s |\n", providerLink(name, source), versionCell(constraints))
		}
	}

	b.WriteString("\n## Inputs\n\n")
	if len(m.Variables) == 0 {
		b.WriteString("No inputs.\n")
	} else {
		b.WriteString("| Name | Description | Type | Default | Required |\n|------|-------------|------|---------|:--------:|\n")
		for _, name := range sortedKeys(m.Variables) {
			v := m.Variables[name]
			def := "n/a"
			if !v.Required {
				def = block(jsonValue(v.Default))
			}
			required := "no"
			if v.Required {
				required = "yes"
			}
			desc := describe(v.Description, v.Sensitive)
			typ := v.Type
			if typ == "" {
				typ = "any"
			}
			fmt.Fprintf(&b, "| <a name=\"input_%s\"></a> [%s](#input_%s) | %s | %s | %s | %s |\n",
				name, name, name, desc, block(typ), def, required)
		}
	}

	b.WriteString("\n## Outputs\n\n")
	if len(m.Outputs) == 0 {
		b.WriteString("No outputs.\n")
	} else {
		b.WriteString("| Name | Description |\n|------|-------------|\n")
		for _, name := range sortedKeys(m.Outputs) {
			o := m.Outputs[name]
			fmt.Fprintf(&b, "| <a name=\"output_%s\"></a> [%s](#output_%s) | %s |\n", name, name, name, describe(o.Description, o.Sensitive))
		}
	}
	return b.String()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func providerLink(name, source string) string {
	if source == "" {
		return name
	}
	return fmt.Sprintf("%s (`%s`)", name, source)
}

func versionCell(constraints []string) string {
	if len(constraints) == 0 {
		return "n/a"
	}
	return code(strings.Join(constraints, ", "))
}

// jsonValue renders a default as HCL would print it for these simple cases: JSON is valid HCL
// for strings, numbers, bools, lists and objects; a null default is "null".
func jsonValue(v any) string {
	if v == nil {
		return "null"
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// describe is a variable's or an output's description cell, saying when the value is sensitive.
func describe(description string, sensitive bool) string {
	if sensitive {
		return strings.TrimSpace(cell(description) + " (sensitive)")
	}
	return cell(description)
}

// cell makes text safe inside a table cell: a pipe would end the cell and a newline the row.
func cell(s string) string {
	s = strings.TrimSpace(s)
	s = strings.ReplaceAll(s, "|", "\\|")
	return strings.ReplaceAll(s, "\n", "<br>")
}

// code renders a value in a cell: inline code on one line, a <pre> block when it spans lines
// (Markdown has no multi-line code inside a table cell).
func code(s string) string {
	return "`" + strings.ReplaceAll(s, "|", "\\|") + "`"
}

func block(s string) string {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "\n") {
		return code(s)
	}
	return "<pre>" + preEscaper.Replace(s) + "</pre>"
}

// preEscaper keeps a multi-line value inside its <pre> cell: HTML's three specials escaped
// (quotes stay readable), a pipe escaped for the table, newlines as <br>.
var preEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "|", "\\|", "\n", "<br>")
