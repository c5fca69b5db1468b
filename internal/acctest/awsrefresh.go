package acctest

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// moto has no instance refresh. The lab answers StartInstanceRefresh, DescribeInstanceRefreshes
// and CancelInstanceRefresh itself and does the real thing against moto: a refresh replaces each
// instance of the group (taken out of the group's target groups first, as Auto Scaling does,
// then TerminateInstanceInAutoScalingGroup without decrementing the desired capacity, so moto
// launches a replacement from the group's current launch template version) and then reports
// Successful, 100%. With SkipMatching, instances already on the group's template version (the
// aws:ec2launchtemplate:* tags EC2 puts on them) are kept. HoldRefreshes keeps a region's new
// refreshes InProgress until ReleaseRefreshes, for tests of what happens while one runs; a held
// refresh reports the instances it would replace as InstancesToUpdate, and the progress
// SetRefreshProgress gives it as PercentageComplete.

const autoscalingNS = "http://autoscaling.amazonaws.com/doc/2011-01-01/"

// Refresh is an instance refresh the lab answered for.
type Refresh struct {
	ID, Region, Group    string
	Status               string // Pending, InProgress, Successful, Failed, Cancelled
	StatusReason         string
	MinHealthyPercentage *int32
	MaxHealthyPercentage *int32
	InstanceWarmup       *int32
	SkipMatching         bool
	Replaced             []string // instance ids taken out and replaced
	// ToUpdate is the number of instances a held refresh would replace; Percentage its progress
	// (SetRefreshProgress), as DescribeInstanceRefreshes reports them.
	ToUpdate, Percentage int
	Start, End           time.Time
}

func (r *Refresh) active() bool { return r.Status == "Pending" || r.Status == "InProgress" }

type refreshes struct {
	once sync.Once
	mu   sync.Mutex
	all  []*Refresh
	held map[string]bool // region -> new refreshes stay InProgress
}

// serveInstanceRefreshes installs the handlers (once per lab).
func (l *AWSLab) serveInstanceRefreshes() {
	l.refreshes.once.Do(func() {
		l.refreshes.held = map[string]bool{}
		l.Proxy.Handle("autoscaling", "StartInstanceRefresh", http.HandlerFunc(l.startRefresh))
		l.Proxy.Handle("autoscaling", "DescribeInstanceRefreshes", http.HandlerFunc(l.describeRefreshes))
		l.Proxy.Handle("autoscaling", "CancelInstanceRefresh", http.HandlerFunc(l.cancelRefresh))
	})
}

// HoldRefreshes keeps the instance refreshes started in region from now on InProgress, replacing
// nothing, until ReleaseRefreshes.
func (l *AWSLab) HoldRefreshes(region string) {
	l.serveInstanceRefreshes()
	l.refreshes.mu.Lock()
	defer l.refreshes.mu.Unlock()
	l.refreshes.held[region] = true
}

// ReleaseRefreshes stops holding region's refreshes and carries out those still InProgress.
func (l *AWSLab) ReleaseRefreshes(region string) error {
	l.refreshes.mu.Lock()
	delete(l.refreshes.held, region)
	var run []*Refresh
	for _, r := range l.refreshes.all {
		if r.Region == region && r.active() {
			run = append(run, r)
		}
	}
	l.refreshes.mu.Unlock()
	var errs []error
	for _, r := range run {
		errs = append(errs, l.carryOut(context.Background(), r))
	}
	return errors.Join(errs...)
}

// SetRefreshProgress sets the PercentageComplete (0-100) of region's held refreshes that are
// still InProgress; InstancesToUpdate falls in step with it.
func (l *AWSLab) SetRefreshProgress(region string, percentage int) {
	l.refreshes.mu.Lock()
	defer l.refreshes.mu.Unlock()
	for _, r := range l.refreshes.all {
		if r.Region == region && r.active() {
			r.Percentage = min(max(percentage, 0), 100)
		}
	}
}

// InstanceRefreshes lists the refreshes of group in region, oldest first.
func (l *AWSLab) InstanceRefreshes(region, group string) []Refresh {
	l.refreshes.mu.Lock()
	defer l.refreshes.mu.Unlock()
	var out []Refresh
	for _, r := range l.refreshes.all {
		if r.Region == region && r.Group == group {
			c := *r
			c.Replaced = slices.Clone(r.Replaced)
			out = append(out, c)
		}
	}
	return out
}

// queryForm reads the call's region and its query-protocol parameters.
func queryForm(r *http.Request) (string, url.Values) {
	body, _ := io.ReadAll(r.Body)
	region, _, _ := Operation(r, body)
	v, _ := url.ParseQuery(string(body))
	return region, v
}

func optInt32(v url.Values, key string) *int32 {
	n, err := strconv.ParseInt(v.Get(key), 10, 32)
	if err != nil {
		return nil
	}
	return aws.Int32(int32(n))
}

func (l *AWSLab) startRefresh(w http.ResponseWriter, r *http.Request) {
	region, v := queryForm(r)
	group := v.Get("AutoScalingGroupName")
	asc := autoscaling.NewFromConfig(l.DirectConfig(region))
	out, err := asc.DescribeAutoScalingGroups(r.Context(), &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{group}})
	if err != nil {
		writeQueryError(w, http.StatusInternalServerError, "InternalFailure", err.Error())
		return
	}
	if len(out.AutoScalingGroups) == 0 {
		writeQueryError(w, http.StatusBadRequest, "ValidationError", "AutoScalingGroup name not found - AutoScalingGroup '"+group+"' not found")
		return
	}
	rf := &Refresh{
		ID: randomSuffix() + randomSuffix(), Region: region, Group: group, Status: "InProgress", Start: time.Now().UTC(),
		MinHealthyPercentage: optInt32(v, "Preferences.MinHealthyPercentage"),
		MaxHealthyPercentage: optInt32(v, "Preferences.MaxHealthyPercentage"),
		InstanceWarmup:       optInt32(v, "Preferences.InstanceWarmup"),
		SkipMatching:         v.Get("Preferences.SkipMatching") == "true",
	}
	l.refreshes.mu.Lock()
	for _, o := range l.refreshes.all {
		if o.Region == region && o.Group == group && o.active() {
			l.refreshes.mu.Unlock()
			writeQueryError(w, http.StatusBadRequest, "InstanceRefreshInProgress",
				fmt.Sprintf("An Instance Refresh is already in progress and blocks the execution of this Instance Refresh (%s).", o.ID))
			return
		}
	}
	l.refreshes.all = append(l.refreshes.all, rf)
	held := l.refreshes.held[region]
	l.refreshes.mu.Unlock()
	if !held {
		_ = l.carryOut(r.Context(), rf) // a failure is the refresh's status, as on AWS
	} else if ids, err := l.toReplace(r.Context(), rf, out.AutoScalingGroups[0]); err == nil {
		l.refreshes.mu.Lock()
		rf.ToUpdate = len(ids)
		l.refreshes.mu.Unlock()
	}
	writeQueryResult(w, "StartInstanceRefresh", refreshIDResult{xml.Name{Local: "StartInstanceRefreshResult"}, rf.ID})
}

// carryOut replaces the refresh's instances and records how it ended.
func (l *AWSLab) carryOut(ctx context.Context, rf *Refresh) error {
	replaced, err := l.replaceInstances(ctx, rf)
	l.refreshes.mu.Lock()
	defer l.refreshes.mu.Unlock()
	rf.Replaced, rf.End = replaced, time.Now().UTC()
	if err != nil {
		rf.Status, rf.StatusReason = "Failed", err.Error()
		return fmt.Errorf("instance refresh %s of %s: %w", rf.ID, rf.Group, err)
	}
	rf.Status = "Successful"
	return nil
}

func (l *AWSLab) replaceInstances(ctx context.Context, rf *Refresh) ([]string, error) {
	cfg := l.DirectConfig(rf.Region)
	asc, elb := autoscaling.NewFromConfig(cfg), elbv2.NewFromConfig(cfg)
	out, err := asc.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{rf.Group}})
	if err != nil || len(out.AutoScalingGroups) == 0 {
		return nil, fmt.Errorf("the group is gone: %v", err)
	}
	g := out.AutoScalingGroups[0]
	replace, err := l.toReplace(ctx, rf, g)
	if err != nil {
		return nil, err
	}
	for _, id := range replace {
		for _, tg := range g.TargetGroupARNs {
			_, _ = elb.DeregisterTargets(ctx, &elbv2.DeregisterTargetsInput{TargetGroupArn: aws.String(tg), Targets: []elbtypes.TargetDescription{{Id: aws.String(id)}}})
		}
		if _, err := asc.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{
			InstanceId: aws.String(id), ShouldDecrementDesiredCapacity: aws.Bool(false),
		}); err != nil {
			return nil, fmt.Errorf("replacing %s: %w", id, err)
		}
	}
	return replace, nil
}

// toReplace is the group's instances, less those on its template version under SkipMatching.
func (l *AWSLab) toReplace(ctx context.Context, rf *Refresh, g astypes.AutoScalingGroup) ([]string, error) {
	var ids []string
	for _, in := range g.Instances {
		ids = append(ids, aws.ToString(in.InstanceId))
	}
	tmplID, version := groupTemplate(g)
	if !rf.SkipMatching || len(ids) == 0 || tmplID == "" {
		return ids, nil
	}
	out, err := ec2.NewFromConfig(l.DirectConfig(rf.Region)).DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: ids})
	if err != nil {
		return nil, fmt.Errorf("describing the group's instances: %w", err)
	}
	var replace []string
	for _, res := range out.Reservations {
		for _, in := range res.Instances {
			tags := map[string]string{}
			for _, t := range in.Tags {
				tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
			if tags["aws:ec2launchtemplate:id"] != tmplID || tags["aws:ec2launchtemplate:version"] != version {
				replace = append(replace, aws.ToString(in.InstanceId))
			}
		}
	}
	return replace, nil
}

// groupTemplate is the launch template id and version the group launches from.
func groupTemplate(g astypes.AutoScalingGroup) (id, version string) {
	spec := g.LaunchTemplate
	if mip := g.MixedInstancesPolicy; mip != nil && mip.LaunchTemplate != nil {
		spec = mip.LaunchTemplate.LaunchTemplateSpecification
	}
	if spec == nil {
		return "", ""
	}
	return aws.ToString(spec.LaunchTemplateId), aws.ToString(spec.Version)
}

type refreshXML struct {
	InstanceRefreshID    string `xml:"InstanceRefreshId"`
	AutoScalingGroupName string
	Status               string
	StatusReason         string `xml:",omitempty"`
	StartTime            string
	EndTime              string `xml:",omitempty"`
	PercentageComplete   int
	InstancesToUpdate    int
	Strategy             string
	Preferences          struct {
		MinHealthyPercentage *int32 `xml:",omitempty"`
		MaxHealthyPercentage *int32 `xml:",omitempty"`
		InstanceWarmup       *int32 `xml:",omitempty"`
		SkipMatching         bool
	}
}

func (l *AWSLab) describeRefreshes(w http.ResponseWriter, r *http.Request) {
	region, v := queryForm(r)
	group := v.Get("AutoScalingGroupName")
	var ids []string
	for i := 1; v.Get(fmt.Sprintf("InstanceRefreshIds.member.%d", i)) != ""; i++ {
		ids = append(ids, v.Get(fmt.Sprintf("InstanceRefreshIds.member.%d", i)))
	}
	var out []refreshXML
	l.refreshes.mu.Lock()
	for i := len(l.refreshes.all) - 1; i >= 0; i-- { // newest first, as AWS answers
		rf := l.refreshes.all[i]
		if rf.Region != region || rf.Group != group || (len(ids) > 0 && !slices.Contains(ids, rf.ID)) {
			continue
		}
		out = append(out, rf.xml())
	}
	l.refreshes.mu.Unlock()
	if n, err := strconv.Atoi(v.Get("MaxRecords")); err == nil && n > 0 && len(out) > n {
		out = out[:n]
	}
	writeQueryResult(w, "DescribeInstanceRefreshes", describeRefreshesResult{InstanceRefreshes: out})
}

// xml is the refresh as DescribeInstanceRefreshes shows it; call with the lock held.
func (rf *Refresh) xml() refreshXML {
	x := refreshXML{
		InstanceRefreshID: rf.ID, AutoScalingGroupName: rf.Group, Status: rf.Status, StatusReason: rf.StatusReason,
		StartTime: rf.Start.Format(time.RFC3339), Strategy: "Rolling",
		PercentageComplete: rf.Percentage, InstancesToUpdate: rf.ToUpdate - rf.ToUpdate*rf.Percentage/100,
	}
	if !rf.End.IsZero() {
		x.EndTime = rf.End.Format(time.RFC3339)
	}
	if rf.Status == "Successful" {
		x.PercentageComplete, x.InstancesToUpdate = 100, 0
	}
	x.Preferences.MinHealthyPercentage, x.Preferences.MaxHealthyPercentage = rf.MinHealthyPercentage, rf.MaxHealthyPercentage
	x.Preferences.InstanceWarmup, x.Preferences.SkipMatching = rf.InstanceWarmup, rf.SkipMatching
	return x
}

func (l *AWSLab) cancelRefresh(w http.ResponseWriter, r *http.Request) {
	region, v := queryForm(r)
	group := v.Get("AutoScalingGroupName")
	l.refreshes.mu.Lock()
	defer l.refreshes.mu.Unlock()
	for _, rf := range l.refreshes.all {
		if rf.Region == region && rf.Group == group && rf.active() {
			rf.Status, rf.StatusReason, rf.End = "Cancelled", "Cancelled by CancelInstanceRefresh", time.Now().UTC()
			writeQueryResult(w, "CancelInstanceRefresh", refreshIDResult{xml.Name{Local: "CancelInstanceRefreshResult"}, rf.ID})
			return
		}
	}
	writeQueryError(w, http.StatusBadRequest, "ActiveInstanceRefreshNotFound", "No in progress or pending Instance Refresh found for Auto Scaling group "+group)
}

// writeQueryResult answers an Auto Scaling query-protocol call: <OpResponse> holding result (a
// struct whose XMLName is <OpResult>) and the response metadata.
func writeQueryResult(w http.ResponseWriter, op string, result any) {
	type meta struct {
		RequestID string `xml:"RequestId"`
	}
	body, err := xml.Marshal(struct {
		XMLName  xml.Name
		Result   any
		Metadata meta `xml:"ResponseMetadata"`
	}{
		XMLName:  xml.Name{Space: autoscalingNS, Local: op + "Response"},
		Result:   result,
		Metadata: meta{"inferstack-proxy-" + randomSuffix()},
	})
	if err != nil {
		writeQueryError(w, http.StatusInternalServerError, "InternalFailure", err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	_, _ = w.Write(append([]byte(xml.Header), body...))
}

type refreshIDResult struct {
	XMLName           xml.Name
	InstanceRefreshID string `xml:"InstanceRefreshId"`
}

type describeRefreshesResult struct {
	XMLName           xml.Name     `xml:"DescribeInstanceRefreshesResult"`
	InstanceRefreshes []refreshXML `xml:"InstanceRefreshes>member"`
}

func writeQueryError(w http.ResponseWriter, status int, code, msg string) {
	kind := "Sender"
	if status >= 500 {
		kind = "Receiver"
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	var b struct {
		XMLName xml.Name `xml:"ErrorResponse"`
		NS      string   `xml:"xmlns,attr"`
		Error   struct {
			Type, Code, Message string
		}
		RequestID string `xml:"RequestId"`
	}
	b.NS, b.Error.Type, b.Error.Code, b.Error.Message, b.RequestID = autoscalingNS, kind, code, msg, "inferstack-proxy-"+randomSuffix()
	out, _ := xml.Marshal(b)
	_, _ = w.Write(out)
}
