package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// quickstart applies examples/quickstart on a lab of its own (inferstack-lab: moto as AWS behind
// the harness proxy, two SSH GPU hosts, the Hub and LiteLLM stand-ins), as `make demo` does, then
// times a plan (with refresh) of the whole quickstart against a plan of each object in its state
// alone (-target=ADDRESS, which plans the object's dependencies too), the median of planRuns each,
// and prints the whole against the slowest object. The lab is stopped and its state dropped
// afterwards.
func (b *bench) quickstart(labBin, src, standin string) error {
	labDir := filepath.Join(b.dir, "quickstart-lab")
	args := []string{"up", "--dir", labDir}
	if standin != "" {
		args = append(args, "--standin", standin)
	}
	start := time.Now()
	if out, err := exec.Command(labBin, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("starting the quickstart's lab (%s up; run `make lab-binary`): %v\n%s", labBin, err, out)
	}
	defer func() { _ = exec.Command(labBin, "down", "--dir", labDir).Run() }()

	// The module sources are ../../modules/...: the copy keeps that layout, modules linked.
	root := filepath.Join(b.dir, "quickstart")
	work := filepath.Join(root, "examples", "quickstart")
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	if err := os.Symlink(filepath.Join(src, "..", "..", "modules"), filepath.Join(root, "modules")); err != nil {
		return err
	}
	files, err := filepath.Glob(filepath.Join(src, "*.tf"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no .tf files in %s (--quickstart)", src)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(work, filepath.Base(f)), data, 0o600); err != nil {
			return err
		}
	}
	env, err := quickstartEnv(labDir)
	if err != nil {
		return err
	}
	b.env = env
	defer func() { b.env = nil }()
	varFile := "-var-file=" + filepath.Join(labDir, "quickstart.tfvars.json")
	if _, err := b.cli(work, "init", "-input=false"); err != nil {
		return err
	}
	applyStart := time.Now()
	if _, err := b.cli(work, "apply", "-input=false", "-auto-approve", varFile); err != nil {
		return err
	}
	applied := time.Since(applyStart)
	defer func() { _, _ = b.cli(work, "destroy", "-input=false", "-auto-approve", varFile) }()
	out, err := b.cli(work, "state", "list")
	if err != nil {
		return err
	}
	var addrs []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			addrs = append(addrs, l)
		}
	}
	fmt.Printf("\nquickstart (examples/quickstart on its own lab: moto as AWS, two SSH GPU hosts; lab up in %s, apply %s, %d objects in state)\n",
		ms(applyStart.Sub(start)), ms(applied), len(addrs))
	fmt.Printf("plan with refresh (median of %d) of the whole quickstart against each object alone (-target=ADDRESS: the object and what it depends on)\n", planRuns)

	whole, changes, err := b.timePlan(work, varFile)
	if err != nil {
		return err
	}
	type object struct {
		addr    string
		plan    time.Duration
		changes bool
	}
	var objs []object
	for _, a := range addrs {
		d, ch, err := b.timePlan(work, varFile, "-target="+a)
		if err != nil {
			return err
		}
		objs = append(objs, object{a, d, ch})
	}
	slices.SortStableFunc(objs, func(x, y object) int { return int(y.plan - x.plan) })
	note := func(ch bool) string {
		if ch {
			return " (plans changes)"
		}
		return ""
	}
	fmt.Printf("%11s  %s\n", ms(whole), "the whole quickstart"+note(changes))
	for _, o := range objs {
		fmt.Printf("%11s  -target=%s%s\n", ms(o.plan), o.addr, note(o.changes))
	}
	if len(objs) > 0 {
		s := objs[0]
		fmt.Printf("\nquickstart plan against its slowest object (%s, with its dependencies): %s against %s (%.2fx; goal within 2x)\n",
			s.addr, ms(whole), ms(s.plan), float64(whole)/float64(s.plan))
	}
	return nil
}

// timePlan is the median of planRuns plans in dir with args; changes: a plan said it would
// change something (exit 2 of -detailed-exitcode), which the figure does not hide.
func (b *bench) timePlan(dir string, args ...string) (time.Duration, bool, error) {
	var ds []time.Duration
	changes := false
	for range planRuns {
		start := time.Now()
		_, err := b.cli(dir, append([]string{"plan", "-input=false", "-detailed-exitcode"}, args...)...)
		ds = append(ds, time.Since(start))
		var exit *exec.ExitError
		switch {
		case errors.As(err, &exit) && exit.ExitCode() == 2:
			changes = true
		case err != nil:
			return 0, false, err
		}
	}
	return median(ds), changes, nil
}

// quickstartEnv is what examples/quickstart/demo.sh sets: moto's credentials, a fresh API key for
// the endpoints, the closed route's placeholder key, and the lab's AWS network for the AWS cluster.
func quickstartEnv(labDir string) ([]string, error) {
	key := make([]byte, 18)
	_, _ = rand.Read(key)
	env := []string{"AWS_ACCESS_KEY_ID=lab", "AWS_SECRET_ACCESS_KEY=lab", "TF_VAR_vllm_api_key=sk-bench-" + hex.EncodeToString(key),
		"TF_VAR_openai_api_key=sk-lab-not-a-real-key"}
	raw, err := os.ReadFile(filepath.Join(labDir, "aws.tfvars.json"))
	if errors.Is(err, os.ErrNotExist) {
		return env, nil
	}
	if err != nil {
		return nil, err
	}
	var aws struct {
		Region       string   `json:"region"`
		SubnetIDs    []string `json:"subnet_ids"`
		InstanceType string   `json:"instance_type"`
		AMIID        string   `json:"ami_id"`
	}
	if err := json.Unmarshal(raw, &aws); err != nil {
		return nil, fmt.Errorf("reading the lab's aws.tfvars.json: %w", err)
	}
	cluster, err := json.Marshal(map[string]any{"subnet_ids": aws.SubnetIDs, "instance_type": aws.InstanceType, "ami_id": aws.AMIID})
	if err != nil {
		return nil, err
	}
	return append(env, "TF_VAR_aws_region="+aws.Region, "TF_VAR_aws_cluster="+string(cluster)), nil
}
