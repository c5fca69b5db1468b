package aws

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
)

// endpointClients are the clients of one region that an endpoint's calls use.
type endpointClients struct {
	ec2 *ec2.Client
	asg *autoscaling.Client
	elb *elbv2.Client
	sm  *secretsmanager.Client
}

func (b *Backend) endpointClients(ctx context.Context, region string) (*endpointClients, error) {
	var cl endpointClients
	var err error
	if cl.ec2, err = b.EC2(ctx, region); err != nil {
		return nil, err
	}
	if cl.asg, err = b.AutoScaling(ctx, region); err != nil {
		return nil, err
	}
	if cl.elb, err = b.ELBv2(ctx, region); err != nil {
		return nil, err
	}
	if cl.sm, err = b.SecretsManager(ctx, region); err != nil {
		return nil, err
	}
	return &cl, nil
}

// EnsureEndpoint makes the endpoint spec describes exist on its cluster and match it, and returns
// it. Nothing is changed when the spec is invalid, the cluster is missing or incomplete, or the
// port is not one of the cluster's serving ports. Each object is found by name and tags and made
// only when missing, so a retried apply converges instead of duplicating; an object with the
// endpoint's name that is not tagged as its is an error. A new launch template version (a changed
// node spec, a new cluster base version, a rotated secret) moves the group to it and, when the
// group has nodes, starts an instance refresh; a change of replicas or bounds only updates the
// group. It does not wait for the nodes: WaitEndpointReady does.
func (b *Backend) EnsureEndpoint(ctx context.Context, spec EndpointSpec) (*Endpoint, error) {
	s := spec.withDefaults()
	if err := checkEndpointSpec(s); err != nil {
		return nil, err
	}
	region, err := b.ResolveRegion(ctx, s.Region)
	if err != nil {
		return nil, err
	}
	cl, err := b.endpointClients(ctx, region)
	if err != nil {
		return nil, err
	}
	c, err := b.clusterOf(ctx, region, s)
	if err != nil {
		return nil, err
	}
	if err := checkNodeBudget(ctx, cl.asg, s, c); err != nil {
		return nil, err
	}
	gpus, err := instanceGPUs(ctx, cl.ec2, c.InstanceType)
	if err != nil {
		return nil, err
	}
	if err := checkGPUs(s.Node, c.InstanceType, gpus.GPUCount); err != nil {
		return nil, err
	}
	// The node spec is checked before anything is made; the secrets' ARNs come later.
	placeholder := endpointSecrets{APIKeyARN: "unset"}
	if s.HFToken != "" {
		placeholder.HFTokenARN = "unset"
	}
	if err := nodeSpec(s, region, gpus.GPUCount, placeholder).Validate(); err != nil {
		return nil, err
	}

	tags := endpointTags(s, c)
	n := EndpointResourceNames(s.Cluster, s.Name)
	sec, err := ensureSecrets(ctx, cl.sm, s, tags)
	if err != nil {
		return nil, err
	}
	ud, err := userData(nodeSpec(s, region, gpus.GPUCount, sec))
	if err != nil {
		return nil, err
	}
	lt, err := ensureEndpointTemplate(ctx, cl.ec2, s, c, n.LaunchTemplate, ud, tags)
	if err != nil {
		return nil, err
	}
	tgARN, err := ensureTargetGroup(ctx, cl.elb, s, c, n.TargetGroup, tags)
	if err != nil {
		return nil, err
	}
	if _, err := ensureListener(ctx, cl.elb, s, c, tgARN, tags); err != nil {
		return nil, err
	}
	prev, err := ensureGroup(ctx, cl.asg, groupSpec{
		name: n.Group, templateID: lt.id, version: lt.version,
		min: int32(s.MinReplicas), max: int32(s.MaxReplicas), desired: int32(s.Replicas),
		subnets: c.SubnetIDs, capacity: c.Capacity, grace: int32(s.HealthCheckGraceSeconds),
		targetGroupARN: tgARN, tags: tags, cluster: s.Cluster, endpointName: s.Name,
	})
	if err != nil {
		return nil, err
	}
	if err := ensureScalingPolicy(ctx, cl.asg, n.Group, s.ScaleTarget); err != nil {
		return nil, err
	}
	if err := rollNodes(ctx, cl.ec2, cl.asg, s, n.Group, lt, prev); err != nil {
		return nil, err
	}
	return b.readEndpoint(ctx, cl, region, s.Cluster, s.Name)
}

// clusterOf is the endpoint's cluster, checked to be complete and to serve the endpoint's port.
func (b *Backend) clusterOf(ctx context.Context, region string, s EndpointSpec) (*Cluster, error) {
	c, err := b.readCluster(ctx, region, s.Cluster)
	if backend.IsNotFound(err) {
		return nil, &backend.InputError{Attribute: "cluster_id", Detail: fmt.Sprintf(
			"inference cluster %s does not exist in %s: create the cluster first", s.Cluster, region)}
	}
	if err != nil {
		return nil, err
	}
	if len(c.SubnetIDs) == 0 {
		c.Missing = append(c.Missing, "subnets (tags of the launch template)")
	}
	return c, checkCluster(s, c)
}

// instanceGPUs is what GPUs a node of instanceType carries (a zero GPUCount when EC2 does not say).
func instanceGPUs(ctx context.Context, client *ec2.Client, instanceType string) (backend.GPUType, error) {
	out, err := client.DescribeInstanceTypes(ctx, &ec2.DescribeInstanceTypesInput{InstanceTypes: []ec2types.InstanceType{ec2types.InstanceType(instanceType)}})
	if err != nil {
		return backend.GPUType{}, fmt.Errorf("describing instance type %s: %w", instanceType, err)
	}
	for _, it := range out.InstanceTypes {
		if t, ok := gpuType(it); ok {
			return t, nil
		}
	}
	return backend.GPUType{Name: instanceType}, nil
}

// ClusterCapacity reads the cluster's instance type and node limit: a replica gets the GPUs of
// one node, and MaxNodes nodes in all (0 when the cluster sets no limit).
func (b *Backend) ClusterCapacity(ctx context.Context, region, name string) (*backend.Capacity, error) {
	region, err := b.ResolveRegion(ctx, region)
	if err != nil {
		return nil, err
	}
	c, err := b.readCluster(ctx, region, name)
	if err != nil {
		return nil, err
	}
	if c.InstanceType == "" {
		return nil, nil
	}
	client, err := b.EC2(ctx, region)
	if err != nil {
		return nil, err
	}
	t, err := instanceGPUs(ctx, client, c.InstanceType)
	if err != nil || t.GPUCount == 0 {
		return nil, err
	}
	return &backend.Capacity{GPUModel: t.GPUModel, GPUMemoryMiB: t.GPUMemoryMiB, GPUsPerNode: t.GPUCount, TotalGPUs: c.MaxNodes * t.GPUCount}, nil
}

// FindEndpoint reads the endpoint name of cluster in region ("" = the provider's). When its Auto
// Scaling group is gone (or is not the endpoint's) it returns an error wrapping
// backend.ErrNotFound; other missing parts are named in Endpoint.Missing.
func (b *Backend) FindEndpoint(ctx context.Context, region, cluster, name string) (*Endpoint, error) {
	region, err := b.ResolveRegion(ctx, region)
	if err != nil {
		return nil, err
	}
	cl, err := b.endpointClients(ctx, region)
	if err != nil {
		return nil, err
	}
	return b.readEndpoint(ctx, cl, region, cluster, name)
}

func (b *Backend) readEndpoint(ctx context.Context, cl *endpointClients, region, cluster, name string) (*Endpoint, error) {
	n := EndpointResourceNames(cluster, name)
	g, err := findGroup(ctx, cl.asg, n.Group)
	if err != nil {
		return nil, err
	}
	if g == nil || !owned(groupTagMap(g.Tags), cluster, name) {
		return nil, notFound("model endpoint %s of inference cluster %s in %s", name, cluster, region)
	}
	e := &Endpoint{
		ID: EndpointID(ClusterID(region, cluster), name), Name: name, Cluster: cluster, Region: region, GroupName: n.Group,
		Desired: int64(aws.ToInt32(g.DesiredCapacity)), Min: int64(aws.ToInt32(g.MinSize)), Max: int64(aws.ToInt32(g.MaxSize)),
		Tags: groupTagMap(g.Tags),
	}
	for _, in := range g.Instances {
		e.InstanceIDs = append(e.InstanceIDs, aws.ToString(in.InstanceId))
	}
	e.GroupARN = aws.ToString(g.AutoScalingGroupARN)
	if p, err := findScalingPolicy(ctx, cl.asg, n.Group); err != nil {
		return nil, err
	} else if p != nil {
		e.ScaleTarget = scaleTargetOf(*p, n.Group)
	}
	slices.Sort(e.InstanceIDs)
	if err := readEndpointTemplate(ctx, cl.ec2, e, *g, n.LaunchTemplate); err != nil {
		return nil, err
	}
	if err := readEndpointTraffic(ctx, cl.elb, e, n.TargetGroup); err != nil {
		return nil, err
	}
	apiKey, hfToken := secretsOf(cluster, name, nil)
	if e.APIKeySecretARN, err = apiKey.read(ctx, cl.sm); err != nil {
		return nil, err
	}
	if e.APIKeySecretARN == "" {
		e.Missing = append(e.Missing, "API key secret")
	}
	if e.HFTokenSecretARN, err = hfToken.read(ctx, cl.sm); err != nil {
		return nil, err
	}
	r, err := latestRefresh(ctx, cl.asg, n.Group)
	if err != nil {
		return nil, err
	}
	if r != nil {
		e.Refresh = string(r.Status)
		e.RefreshPercentage, e.RefreshToUpdate = int64(aws.ToInt32(r.PercentageComplete)), int64(aws.ToInt32(r.InstancesToUpdate))
	}
	return e, nil
}

// readEndpointTemplate fills in the launch template version the group launches.
func readEndpointTemplate(ctx context.Context, client *ec2.Client, e *Endpoint, g astypes.AutoScalingGroup, name string) error {
	lt, err := findLaunchTemplate(ctx, client, name)
	if err != nil {
		return err
	}
	if lt == nil || !owned(lt.tags, e.Cluster, e.Name) {
		e.Missing = append(e.Missing, "launch template")
		return nil
	}
	e.LaunchTemplateID = lt.id()
	version := "$Default"
	if id, v := launchSpec(g); id == lt.id() {
		version = v
	}
	vs, err := templateVersions(ctx, client, lt.id(), version)
	if err != nil || len(vs) == 0 {
		return err
	}
	e.LaunchTemplateVersion = aws.ToInt64(vs[0].VersionNumber)
	e.ClusterTemplateVersion = parseBaseRef(aws.ToString(vs[0].VersionDescription)).Version
	if vs[0].LaunchTemplateData != nil {
		e.UserData = decodeUserData(aws.ToString(vs[0].LaunchTemplateData.UserData))
	}
	return nil
}

// readEndpointTraffic fills in the target group, its healthy targets, and the listener with the
// URL it serves.
func readEndpointTraffic(ctx context.Context, client *elbv2.Client, e *Endpoint, tgName string) error {
	tg, err := findTargetGroup(ctx, client, tgName)
	if err != nil {
		return err
	}
	if tg != nil && owned(tg.tags, e.Cluster, e.Name) {
		e.TargetGroupARN, e.Port = tg.arn(), int64(aws.ToInt32(tg.tg.Port))
		if e.HealthyTargets, _, err = healthyTargets(ctx, client, tg.arn()); err != nil {
			return err
		}
	} else {
		e.Missing = append(e.Missing, "target group")
	}
	lb, err := findLoadBalancer(ctx, client, ResourceNames(e.Region, e.Cluster))
	if err != nil {
		return err
	}
	if lb == nil || lb.tags[TagCluster] != e.Cluster {
		e.Missing = append(e.Missing, "listener")
		return nil
	}
	match := func(l elbtypes.Listener) bool { return e.Port == 0 || onPort(e.Port)(l) }
	ls, err := listeners(ctx, client, aws.ToString(lb.lb.LoadBalancerArn), match)
	if err != nil {
		return err
	}
	for _, l := range ls {
		if owned(l.tags, e.Cluster, e.Name) {
			e.ListenerARN, e.Port = l.arn(), int64(aws.ToInt32(l.l.Port))
			e.URL = endpointURL(aws.ToString(lb.lb.DNSName), e.Port)
			return nil
		}
	}
	e.Missing = append(e.Missing, "listener")
	return nil
}

// WaitEndpointReady waits until the endpoint is whole, at least its desired number of targets is
// healthy and no instance refresh is running, and returns it. A failed instance refresh is an
// error at once. Bound it with ctx (the resource's timeout); without a deadline it gives up after
// DefaultWaitTimeout, with an error naming the targets that are not healthy and why.
func (b *Backend) WaitEndpointReady(ctx context.Context, region, cluster, name string) (*Endpoint, error) {
	region, err := b.ResolveRegion(ctx, region)
	if err != nil {
		return nil, err
	}
	cl, err := b.endpointClients(ctx, region)
	if err != nil {
		return nil, err
	}
	var e *Endpoint
	last := ""
	err = waitFor(ctx, fmt.Sprintf("model endpoint %s of inference cluster %s in %s to be ready", name, cluster, region), func() (bool, error) {
		cur, err := b.readEndpoint(ctx, cl, region, cluster, name)
		if err != nil {
			return false, err
		}
		e = cur
		if msg := waitProgress(cur); msg != last {
			backend.Report(ctx, cur.GroupName, msg)
			last = msg
		}
		if err := refreshFailed(ctx, cl.asg, cur); err != nil {
			return false, err
		}
		return len(cur.Missing) == 0 && cur.HealthyTargets >= cur.Desired && !refreshActive(astypes.InstanceRefreshStatus(cur.Refresh)), nil
	})
	if e != nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
		err = fmt.Errorf("%w: %s", err, notReady(context.WithoutCancel(ctx), cl.elb, e))
	}
	return e, err
}

// waitProgress says where a wait for readiness stands: healthy targets of the desired count, and
// the instance refresh under way with how far it has got.
func waitProgress(e *Endpoint) string {
	msg := fmt.Sprintf("%d of %d nodes healthy behind the load balancer", e.HealthyTargets, e.Desired)
	if e.Refresh != "" && refreshActive(astypes.InstanceRefreshStatus(e.Refresh)) {
		msg += fmt.Sprintf("; instance refresh %s, %d%% complete, %d %s to update", strings.ToLower(e.Refresh),
			e.RefreshPercentage, e.RefreshToUpdate, plural(e.RefreshToUpdate, "instance", "instances"))
	}
	return msg
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// refreshFailed is an error when the endpoint's latest instance refresh failed or rolled back.
func refreshFailed(ctx context.Context, client *autoscaling.Client, e *Endpoint) error {
	switch astypes.InstanceRefreshStatus(e.Refresh) {
	case astypes.InstanceRefreshStatusFailed, astypes.InstanceRefreshStatusRollbackFailed, astypes.InstanceRefreshStatusRollbackSuccessful:
	default:
		return nil
	}
	r, err := latestRefresh(ctx, client, e.GroupName)
	if err != nil || r == nil {
		return err
	}
	return fmt.Errorf("the instance refresh %s of Auto Scaling group %s ended %s (%s): the new nodes did not become healthy; see the group's activity and the nodes' console output, fix the cause and apply again",
		aws.ToString(r.InstanceRefreshId), e.GroupName, r.Status, aws.ToString(r.StatusReason))
}

// notReady says why e is not ready: targets, refresh, missing parts.
func notReady(ctx context.Context, client *elbv2.Client, e *Endpoint) string {
	parts := []string{fmt.Sprintf("%d of %d targets healthy", e.HealthyTargets, e.Desired)}
	if e.TargetGroupARN != "" {
		if _, others, err := healthyTargets(ctx, client, e.TargetGroupARN); err == nil && len(others) > 0 {
			parts = append(parts, "not healthy: "+strings.Join(others, ", "))
		}
	}
	if refreshActive(astypes.InstanceRefreshStatus(e.Refresh)) {
		parts = append(parts, "instance refresh "+e.Refresh)
	}
	if len(e.Missing) > 0 {
		parts = append(parts, "missing: "+strings.Join(e.Missing, ", "))
	}
	return strings.Join(parts, "; ")
}

// DeleteEndpoint deletes the endpoint's group and waits for its instances to terminate, then its
// listener, target group, launch template and secrets (deleted at once, without a recovery
// window). Only objects tagged as the endpoint's are touched; an endpoint that does not exist is
// success.
func (b *Backend) DeleteEndpoint(ctx context.Context, region, cluster, name string) error {
	region, err := b.ResolveRegion(ctx, region)
	if err != nil {
		return err
	}
	cl, err := b.endpointClients(ctx, region)
	if err != nil {
		return err
	}
	n := EndpointResourceNames(cluster, name)
	if err := deleteGroup(ctx, cl.asg, cl.ec2, n.Group, cluster, name); err != nil {
		return err
	}
	lb, err := findLoadBalancer(ctx, cl.elb, ResourceNames(region, cluster))
	if err != nil {
		return err
	}
	lbARN := ""
	if lb != nil && lb.tags[TagCluster] == cluster {
		lbARN = aws.ToString(lb.lb.LoadBalancerArn)
	}
	if err := deleteEndpointTraffic(ctx, cl.elb, lbARN, cluster, name); err != nil {
		return err
	}
	if err := deleteLaunchTemplate(ctx, cl.ec2, n.LaunchTemplate, cluster, name); err != nil {
		return err
	}
	apiKey, hfToken := secretsOf(cluster, name, nil)
	return errors.Join(apiKey.delete(ctx, cl.sm), hfToken.delete(ctx, cl.sm))
}

// APIKey reads the endpoint's API key from its secret (a gateway route needs it to call vLLM).
func (b *Backend) APIKey(ctx context.Context, region, cluster, name string) (string, error) {
	region, err := b.ResolveRegion(ctx, region)
	if err != nil {
		return "", err
	}
	client, err := b.SecretsManager(ctx, region)
	if err != nil {
		return "", err
	}
	apiKey, _ := secretsOf(cluster, name, nil)
	arn, err := apiKey.read(ctx, client)
	if err != nil {
		return "", err
	}
	if arn == "" {
		return "", notFound("API key secret %s of model endpoint %s in %s", apiKey.name, name, region)
	}
	out, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil {
		return "", fmt.Errorf("reading secret %s: %w", apiKey.name, err)
	}
	return aws.ToString(out.SecretString), nil
}

// checkNodeBudget refuses an endpoint whose most nodes, with those of the cluster's other
// endpoints, exceed the cluster's max_nodes: the cluster's vCPU quota check covered that many,
// and nodes beyond it would fail to launch on the quota with nothing but a readiness timeout to
// show for it.
func checkNodeBudget(ctx context.Context, asc *autoscaling.Client, s EndpointSpec, c *Cluster) error {
	if c.MaxNodes <= 0 {
		return nil
	}
	groups, err := endpointGroups(ctx, asc, c.Name)
	if err != nil {
		return err
	}
	others, total := []string{}, s.MaxReplicas
	for _, g := range groups {
		if ep := groupTagMap(g.Tags)[TagEndpoint]; ep != s.Name {
			others = append(others, fmt.Sprintf("%s %d", ep, aws.ToInt32(g.MaxSize)))
			total += int64(aws.ToInt32(g.MaxSize))
		}
	}
	if total <= c.MaxNodes {
		return nil
	}
	attr, what := "replicas", "replicas"
	if s.MaxReplicas != s.Replicas {
		attr, what = "autoscaling", "autoscaling.max"
	}
	detail := ""
	if len(others) > 0 {
		sort.Strings(others)
		detail = fmt.Sprintf(", and its other endpoints up to %s", strings.Join(others, ", "))
	}
	return &backend.InputError{Attribute: attr, Detail: fmt.Sprintf(
		"this endpoint may run %d node(s)%s: %d in all, more than the %d of cluster %s's max_nodes, which its vCPU quota "+
			"check covers: raise the cluster's aws.max_nodes (its plan checks the quota again) or lower %s",
		s.MaxReplicas, detail, total, c.MaxNodes, c.Name, what)}
}
