package onprem

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/inferstack/terraform-provider-inferstack/internal/vllm"
)

// What the placements of one process (one Terraform run) know of each host, so that endpoints
// applied at once do not each ask every host for its GPUs (issue 16): one report per host,
// shared by every placement that asks while it is read, kept until something of ours writes the
// host's ledger (an apply or a remove there), and reservations for the replicas placed but not
// yet applied, so that concurrent placements spread over the hosts instead of all choosing the
// one that looked emptiest. The report is a hint: the host's ledger, under its lock, is the
// truth. A replica placed on a host whose report was stale is refused there (ExitNoRoom) and the
// endpoint is placed again from fresh reports, so two endpoints never hold the same GPU.

// hostReport is one read of a host: its GPU report and what endpoints it has anything of (a spec,
// an env file, secrets, a unit or a ledger entry).
type hostReport struct {
	gpus vllm.GPUReport
	// files are the names found on the host: "<ep>.json" (specs), "<ep>.env", "secrets/<ep>",
	// "inferstack-<ep>-<n>.service".
	files map[string]bool
}

// has reports whether the host has anything of endpoint ep.
func (r *hostReport) has(ep string) bool {
	for _, a := range r.gpus.Allocations {
		if a.Endpoint == ep {
			return true
		}
	}
	if r.files[ep+".json"] || r.files[ep+".env"] || r.files["secrets/"+ep] {
		return true
	}
	for f := range r.files {
		if rest, ok := strings.CutPrefix(f, "inferstack-"+ep+"-"); ok && unitIndex.MatchString(rest) {
			return true
		}
	}
	return false
}

var unitIndex = regexp.MustCompile(`^[0-9]+\.service$`)

// held is the number of GPUs ep holds on the host by its ledger.
func (r *hostReport) held(ep string) int {
	n := 0
	for _, a := range r.gpus.Allocations {
		if a.Endpoint == ep {
			n += len(a.GPUs)
		}
	}
	return n
}

// hostBook is what the client knows of one host.
type hostBook struct {
	report *hostReport
	gen    uint64      // counts the drops of report: a read older than a drop is not kept
	call   *reportCall // the read under way, if any
	// scriptOK: the node script of this release was found or installed in this process.
	scriptOK bool
	// reserved are GPUs placed here by placements not yet applied, by placement.
	reserved map[*placement]reservation
}

type reservation struct {
	endpoint string
	gpus     int // what the endpoint will hold here once applied
}

type reportCall struct {
	done   chan struct{}
	gen    uint64
	report *hostReport
	err    error
}

// placement is one decision of PlaceEndpoint: its reservations last until each host's apply has
// run (done) or the deploy ends (release).
type placement struct {
	c     *Client
	hosts map[string]Host // by connKey, the hosts holding a reservation
}

// book returns the book of h; c.mu held.
func (c *Client) book(h Host) *hostBook {
	k := h.connKey()
	b, ok := c.books[k]
	if !ok {
		b = &hostBook{reserved: map[*placement]reservation{}}
		c.books[k] = b
	}
	return b
}

// dropReport forgets what was read of h (after we wrote its ledger, or it refused a replica).
func (c *Client) dropReport(h Host) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.book(h)
	b.report, b.call = nil, nil
	b.gen++
}

// forgetScript forgets that h has the node script (it was removed).
func (c *Client) forgetScript(h Host) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.book(h)
	b.scriptOK, b.report, b.call = false, nil, nil
	b.gen++
}

// ensureScript is EnsureScript once per host per client: later callers trust the first check.
func (c *Client) ensureScript(ctx context.Context, h Host) error {
	if c.hasScript(h) {
		return nil
	}
	if err := c.EnsureScript(ctx, h); err != nil {
		return err
	}
	c.scriptInstalled(h)
	return nil
}

func (c *Client) hasScript(h Host) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.book(h).scriptOK
}

// scriptInstalled records that h has the node script of this release (found, or installed by
// this client: EnsureScript, or the cluster's registration).
func (c *Client) scriptInstalled(h Host) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.book(h).scriptOK = true
}

// report returns h's report: the one kept, or one read shared by every caller that asks while
// it runs. A read that a drop overtook is read again (up to three times; the ledger stays the
// truth however old the report).
func (c *Client) report(ctx context.Context, h Host) (*hostReport, error) {
	for attempt := 0; ; attempt++ {
		c.mu.Lock()
		b := c.book(h)
		if b.report != nil {
			r := b.report
			c.mu.Unlock()
			return r, nil
		}
		call := b.call
		if call == nil {
			call = &reportCall{done: make(chan struct{}), gen: b.gen}
			b.call = call
			go c.readReport(h, call)
		}
		c.mu.Unlock()
		select {
		case <-call.done:
		case <-ctx.Done():
			return nil, fmt.Errorf("host %s: %w", h.Name, ctx.Err())
		}
		if call.err != nil {
			return nil, call.err
		}
		c.mu.Lock()
		fresh := b.gen == call.gen
		c.mu.Unlock()
		if fresh || attempt >= 2 {
			return call.report, nil
		}
	}
}

// reportTimeout bounds one read of a host's report: it runs for every caller that waits for it,
// so under none of their contexts.
const reportTimeout = 2 * time.Minute

// readReport reads h's report for call and keeps it unless a drop came meanwhile.
func (c *Client) readReport(h Host, call *reportCall) {
	ctx, cancel := context.WithTimeout(context.Background(), reportTimeout)
	defer cancel()
	r, err := c.readHostReport(ctx, h)
	c.mu.Lock()
	b := c.book(h)
	if b.call == call {
		b.call = nil
	}
	if err == nil && b.gen == call.gen {
		b.report = r
	}
	c.mu.Unlock()
	call.report, call.err = r, err
	close(call.done)
}

// readHostReport asks h, in one session, for its GPU report and the names of what endpoints
// left there. Where this client has not seen the node script of this release on h yet, the same
// session checks its version first and answers scriptOutdated (nothing else) when it is missing
// or of another release: the script is then installed and the report read again.
func (c *Client) readHostReport(ctx context.Context, h Host) (*hostReport, error) {
	for attempt := 0; ; attempt++ {
		r, err := c.readHostReportOnce(ctx, h, !c.hasScript(h))
		if !errors.Is(err, errScriptOutdated) || attempt > 0 {
			return r, err
		}
		script, _, err := vllm.NodeScript()
		if err != nil {
			return nil, err
		}
		if err := c.installScript(ctx, h, script); err != nil {
			return nil, err
		}
	}
}

// errScriptOutdated: the host's node script is missing or of another release.
var errScriptOutdated = errors.New("the node script is missing or of another release")

const scriptOutdated = "inferstack: node script outdated"

func (c *Client) readHostReportOnce(ctx context.Context, h Host, checkVersion bool) (*hostReport, error) {
	script := `s=` + nodeCmd + `
r="${INFERSTACK_ROOT:-}"
`
	if checkVersion {
		_, version, err := vllm.NodeScript()
		if err != nil {
			return nil, err
		}
		script += `case "$("$s" version 2>/dev/null)" in *` + shellQuote(" "+version+" ") + `*) ;; *) echo ` + shellQuote(scriptOutdated) + `; exit 0 ;; esac
`
	}
	script += `"$s" gpus || exit
printf '\0'
for f in "$r"` + shellQuote(vllm.SpecDir) + `/*.json "$r"` + shellQuote(vllm.EnvDir) + `/*.env "$r"` + shellQuote(vllm.UnitDir) + `/inferstack-*.service; do
  [ -e "$f" ] && printf '%s\n' "${f##*/}"
done
for d in "$r"` + shellQuote(vllm.EnvDir) + `/secrets/*/; do
  [ -d "$d" ] && { d=${d%/}; printf 'secrets/%s\n' "${d##*/}"; }
done
exit 0`
	out, err := c.Run(ctx, h, script, nil)
	if err != nil {
		return nil, err
	}
	if checkVersion {
		if strings.TrimSpace(string(out)) == scriptOutdated {
			return nil, errScriptOutdated
		}
		c.scriptInstalled(h)
	}
	gpus, files, ok := strings.Cut(string(out), "\x00")
	if !ok {
		return nil, fmt.Errorf("host %s: reading its GPU report: unexpected output", h.Name)
	}
	rep, err := vllm.ParseGPUReport([]byte(gpus))
	if err != nil {
		return nil, fmt.Errorf("host %s: %w", h.Name, err)
	}
	r := &hostReport{gpus: rep, files: map[string]bool{}}
	for _, f := range strings.Split(files, "\n") {
		if f != "" {
			r.files[f] = true
		}
	}
	return r, nil
}

// room is what endpoint ep may use of h by r: the free GPUs and those ep holds, less what other
// placements under way reserved and their ledger entries do not show yet. c.mu held.
func (c *Client) room(h Host, r *hostReport, ep string) int {
	avail := len(r.gpus.Free) + r.held(ep)
	for _, res := range c.book(h).reserved {
		if res.endpoint != ep {
			avail -= max(0, res.gpus-r.held(res.endpoint))
		}
	}
	return max(avail, 0)
}

// reserve records that p placed n GPUs of endpoint ep on h. c.mu held.
func (c *Client) reserve(p *placement, h Host, ep string, n int) {
	c.book(h).reserved[p] = reservation{endpoint: ep, gpus: n}
	p.hosts[h.connKey()] = h
}

// done ends p's reservation on h once h's ledger was written (or not: the apply ran), and drops
// h's report, in one step, so that no placement sees neither.
func (p *placement) done(h Host) {
	c := p.c
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.book(h)
	delete(b.reserved, p)
	delete(p.hosts, h.connKey())
	b.report, b.call = nil, nil
	b.gen++
}

// release ends every reservation p still holds (hosts the deploy did not reach).
func (p *placement) release() {
	if p == nil {
		return
	}
	c := p.c
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, h := range p.hosts {
		delete(c.book(h).reserved, p)
		delete(p.hosts, k)
	}
}
