package vllm

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
)

//go:generate cp ../../../shared/contracts/vllm-serve-args.json data/vllm-serve-args.json

// flagTableJSON is the flag table of `vllm serve` at the pinned vLLM source: a copy of
// ../shared/contracts/vllm-serve-args.json (see data/README.md for where it comes from and how
// to regenerate it).
//
//go:embed data/vllm-serve-args.json
var flagTableJSON []byte

// FlagTableCommit is the vLLM commit the embedded flag table was read at, and FlagTableRelease
// the release it stands for. The table and DefaultImage move together.
const (
	FlagTableCommit  = "9aaf83ef502fc37bc647f6e474314d48ba36cd1c"
	FlagTableRelease = "v0.22.0"
)

// Flag is one option of `vllm serve` as the flag table describes it.
type Flag struct {
	Name    string   // long form, e.g. "--tensor-parallel-size"
	Aliases []string // short forms, e.g. "-tp"
	// Type is one of str, int, float, bool, json, json|str, list[str], list[int].
	Type string
	// TakesValue is false for switches (bool flags).
	TakesValue bool
	Nargs      string   // "+" for flags that take several values
	Nullable   bool     // "None" (or "") is accepted
	Repeatable bool     // the flag may be given more than once
	Negation   string   // "--no-x" for BooleanOptionalAction switches
	Choices    []string // strict: argparse rejects anything else
	// KnownValues are the values the release knows where argparse does not enforce them.
	KnownValues []string
	Note        string
	Positional  bool
}

// UnmarshalJSON reads a flag of the table, whose takes_value is true, false or "optional" and
// whose choices may be numbers.
func (f *Flag) UnmarshalJSON(b []byte) error {
	var raw struct {
		Name        string          `json:"name"`
		Aliases     []string        `json:"aliases"`
		Type        string          `json:"type"`
		TakesValue  json.RawMessage `json:"takes_value"`
		Nargs       string          `json:"nargs"`
		Nullable    bool            `json:"nullable"`
		Repeatable  bool            `json:"repeatable"`
		Positional  bool            `json:"positional"`
		Negation    string          `json:"negation"`
		Choices     []any           `json:"choices"`
		KnownValues []string        `json:"known_values"`
		Note        string          `json:"note"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*f = Flag{
		Name: raw.Name, Aliases: raw.Aliases, Type: raw.Type, TakesValue: string(raw.TakesValue) != "false",
		Nargs: raw.Nargs, Nullable: raw.Nullable, Repeatable: raw.Repeatable, Positional: raw.Positional,
		Negation: raw.Negation, KnownValues: raw.KnownValues, Note: raw.Note,
	}
	for _, c := range raw.Choices {
		switch v := c.(type) {
		case string:
			f.Choices = append(f.Choices, v)
		case float64:
			f.Choices = append(f.Choices, strconv.FormatFloat(v, 'f', -1, 64))
		default:
			return fmt.Errorf("flag %s: choice %v is neither a string nor a number", raw.Name, c)
		}
	}
	return nil
}

// humanReadable reports whether the flag takes vLLM's human-readable ints (1k, 2M, 25.6k).
func (f *Flag) humanReadable() bool {
	return strings.Contains(f.Note, "human-readable")
}

// FlagTable is the parsed flag table of the pinned vLLM release.
type FlagTable struct {
	Flags []*Flag
	// byName maps every accepted spelling (long name, alias, --no- form) to its flag.
	byName map[string]*Flag
}

type flagTableFile struct {
	Source struct {
		Commit string `json:"commit"`
	} `json:"source"`
	Flags []*Flag `json:"flags"`
}

var (
	flagTableOnce sync.Once
	flagTable     *FlagTable
	flagTableErr  error
)

// Flags returns the flag table of `vllm serve` at the pinned release (FlagTableRelease).
func Flags() (*FlagTable, error) {
	flagTableOnce.Do(func() { flagTable, flagTableErr = parseFlagTable(flagTableJSON) })
	return flagTable, flagTableErr
}

func parseFlagTable(b []byte) (*FlagTable, error) {
	var file flagTableFile
	if err := json.Unmarshal(b, &file); err != nil {
		return nil, fmt.Errorf("reading the vllm serve flag table: %w", err)
	}
	if file.Source.Commit != FlagTableCommit {
		return nil, fmt.Errorf("the vllm serve flag table is from commit %q, the code expects %q", file.Source.Commit, FlagTableCommit)
	}
	t := &FlagTable{byName: map[string]*Flag{}}
	for _, f := range file.Flags {
		if f.Positional {
			continue
		}
		t.Flags = append(t.Flags, f)
		names := append([]string{f.Name}, f.Aliases...)
		if f.Negation != "" {
			names = append(names, f.Negation)
		}
		for _, n := range names {
			if _, dup := t.byName[n]; dup {
				return nil, fmt.Errorf("the vllm serve flag table names %s twice", n)
			}
			t.byName[n] = f
		}
	}
	return t, nil
}

// Lookup finds a flag by any of its spellings: long name, alias, `--no-` form, or a long name
// with underscores (vLLM accepts --tensor_parallel_size).
func (t *FlagTable) Lookup(name string) (*Flag, bool) {
	f, ok := t.byName[canonicalName(name)]
	return f, ok
}

// canonicalName turns underscores of a long flag name into dashes, as vLLM's
// FlexibleArgumentParser does.
func canonicalName(name string) string {
	if strings.HasPrefix(name, "--") {
		return "--" + strings.ReplaceAll(name[2:], "_", "-")
	}
	return name
}

// Suggest returns up to three flag names closest to name, nearest first.
func (t *FlagTable) Suggest(name string) []string {
	name = canonicalName(name)
	type cand struct {
		name string
		d    int
	}
	var cands []cand
	limit := max(2, len(name)/3)
	for n, f := range t.byName {
		if !strings.HasPrefix(n, "--") || n == f.Negation {
			continue
		}
		d := editDistance(name, n)
		// A name that contains the other (--lora-module vs --lora-modules, --prefix-caching vs
		// --enable-prefix-caching) is close whatever the edit distance says.
		if d <= limit || (len(name) > 6 && strings.Contains(n, strings.TrimPrefix(name, "--"))) {
			cands = append(cands, cand{n, d})
		}
	}
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].d != cands[j].d {
			return cands[i].d < cands[j].d
		}
		return cands[i].name < cands[j].name
	})
	out := make([]string, 0, 3)
	for _, c := range cands {
		if len(out) == 3 {
			break
		}
		out = append(out, c.name)
	}
	return out
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
