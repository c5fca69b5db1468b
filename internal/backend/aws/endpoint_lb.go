package aws

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
)

// An endpoint's traffic: a target group of its nodes (TCP on the endpoint's port, health checks
// HTTP GET /health on the same port, which vLLM answers once the model is loaded) and a TCP
// listener on that port of the cluster's network load balancer, forwarding to it. The group
// registers its instances; the load balancer preserves client addresses, and the cluster's
// security group admits the clients and itself (the health checks) to the serving ports.

// healthCheckPath is vLLM's readiness endpoint (it needs no API key).
const healthCheckPath = "/health"

// elbTagsOf reads the tags of one load balancer, target group or listener.
func elbTagsOf(ctx context.Context, client *elbv2.Client, arn, what string) (map[string]string, error) {
	out, err := client.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: []string{arn}})
	if err != nil {
		return nil, fmt.Errorf("reading tags of %s: %w", what, err)
	}
	m := map[string]string{}
	for _, d := range out.TagDescriptions {
		for _, t := range d.Tags {
			m[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	return m, nil
}

func reconcileELBTags(ctx context.Context, client *elbv2.Client, arn, what string, have, want map[string]string) error {
	set, remove := tagDiff(have, want)
	if len(remove) > 0 {
		if _, err := client.RemoveTags(ctx, &elbv2.RemoveTagsInput{ResourceArns: []string{arn}, TagKeys: remove}); err != nil {
			return fmt.Errorf("untagging %s: %w", what, err)
		}
	}
	if len(set) > 0 {
		if _, err := client.AddTags(ctx, &elbv2.AddTagsInput{ResourceArns: []string{arn}, Tags: elbTags(set)}); err != nil {
			return fmt.Errorf("tagging %s: %w", what, err)
		}
	}
	return nil
}

// targetGroup is a target group with its tags.
type targetGroup struct {
	tg   elbtypes.TargetGroup
	tags map[string]string
}

func (t *targetGroup) arn() string { return aws.ToString(t.tg.TargetGroupArn) }

// findTargetGroup is the target group called name, whoever's it is (nil when there is none).
func findTargetGroup(ctx context.Context, client *elbv2.Client, name string) (*targetGroup, error) {
	out, err := client.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{Names: []string{name}})
	if err != nil {
		if hasCode(err, "TargetGroupNotFound") {
			return nil, nil
		}
		return nil, fmt.Errorf("finding target group %s: %w", name, err)
	}
	if len(out.TargetGroups) == 0 {
		return nil, nil
	}
	tg := out.TargetGroups[0]
	tags, err := elbTagsOf(ctx, client, aws.ToString(tg.TargetGroupArn), "target group "+name)
	if err != nil {
		return nil, err
	}
	return &targetGroup{tg: tg, tags: tags}, nil
}

// healthCheckOK reports whether the group checks vLLM's /health over HTTP on the traffic port.
func healthCheckOK(tg elbtypes.TargetGroup) bool {
	return tg.HealthCheckProtocol == elbtypes.ProtocolEnumHttp && aws.ToString(tg.HealthCheckPath) == healthCheckPath &&
		aws.ToString(tg.HealthCheckPort) == "traffic-port" && (tg.HealthCheckEnabled == nil || *tg.HealthCheckEnabled) &&
		tg.Matcher != nil && aws.ToString(tg.Matcher.HttpCode) == "200"
}

// ensureTargetGroup finds or creates the endpoint's target group in the cluster's VPC and
// converges its health check and tags. Its port cannot change: a new port replaces the endpoint.
func ensureTargetGroup(ctx context.Context, client *elbv2.Client, s EndpointSpec, c *Cluster, name string, tags map[string]string) (string, error) {
	cur, err := findTargetGroup(ctx, client, name)
	if err != nil {
		return "", err
	}
	if cur == nil {
		out, err := client.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{
			Name: aws.String(name), Protocol: elbtypes.ProtocolEnumTcp, Port: aws.Int32(int32(s.Port)),
			VpcId: aws.String(c.VPCID), TargetType: elbtypes.TargetTypeEnumInstance,
			HealthCheckEnabled: aws.Bool(true), HealthCheckProtocol: elbtypes.ProtocolEnumHttp,
			HealthCheckPath: aws.String(healthCheckPath), HealthCheckPort: aws.String("traffic-port"),
			Matcher: &elbtypes.Matcher{HttpCode: aws.String("200")},
			Tags:    elbTags(tags),
		})
		if err == nil && len(out.TargetGroups) > 0 {
			return aws.ToString(out.TargetGroups[0].TargetGroupArn), nil
		}
		if err != nil && !hasCode(err, "DuplicateTargetGroupName") {
			return "", fmt.Errorf("creating target group %s: %w", name, err)
		}
		if cur, err = findTargetGroup(ctx, client, name); err != nil || cur == nil {
			return "", fmt.Errorf("creating target group %s: the name is taken, but it cannot be read (%v)", name, err)
		}
	}
	if !owned(cur.tags, s.Cluster, s.Name) {
		return "", errNotEndpoints("target group", name, s.Cluster, s.Name)
	}
	if vpc := aws.ToString(cur.tg.VpcId); vpc != c.VPCID {
		return "", fmt.Errorf("target group %s is in %s, but inference cluster %s is in %s: the cluster was replaced, so replace the endpoint too", name, vpc, s.Cluster, c.VPCID)
	}
	if p := int64(aws.ToInt32(cur.tg.Port)); p != s.Port {
		return "", &backend.InputError{Attribute: "port", Detail: fmt.Sprintf("endpoint %s serves on port %d; a new port replaces the endpoint (its target group's port cannot change)", s.Name, p)}
	}
	if !healthCheckOK(cur.tg) {
		if _, err := client.ModifyTargetGroup(ctx, &elbv2.ModifyTargetGroupInput{
			TargetGroupArn: aws.String(cur.arn()), HealthCheckEnabled: aws.Bool(true), HealthCheckProtocol: elbtypes.ProtocolEnumHttp,
			HealthCheckPath: aws.String(healthCheckPath), HealthCheckPort: aws.String("traffic-port"), Matcher: &elbtypes.Matcher{HttpCode: aws.String("200")},
		}); err != nil {
			return "", fmt.Errorf("setting the health check of target group %s: %w", name, err)
		}
	}
	return cur.arn(), reconcileELBTags(ctx, client, cur.arn(), "target group "+name, cur.tags, tags)
}

// listener is a load balancer listener with its tags.
type listener struct {
	l    elbtypes.Listener
	tags map[string]string
}

func (l *listener) arn() string { return aws.ToString(l.l.ListenerArn) }

// listeners lists the load balancer's listeners that match (a port, or tags), with their tags.
func listeners(ctx context.Context, client *elbv2.Client, lbARN string, match func(elbtypes.Listener) bool) ([]listener, error) {
	var out []listener
	p := elbv2.NewDescribeListenersPaginator(client, &elbv2.DescribeListenersInput{LoadBalancerArn: aws.String(lbARN)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			if hasCode(err, "LoadBalancerNotFound") {
				return nil, nil
			}
			return nil, fmt.Errorf("listing the listeners of load balancer %s: %w", lbARN, err)
		}
		for _, l := range page.Listeners {
			if !match(l) {
				continue
			}
			tags, err := elbTagsOf(ctx, client, aws.ToString(l.ListenerArn), "listener "+aws.ToString(l.ListenerArn))
			if err != nil {
				return nil, err
			}
			out = append(out, listener{l: l, tags: tags})
		}
	}
	return out, nil
}

func onPort(port int64) func(elbtypes.Listener) bool {
	return func(l elbtypes.Listener) bool { return int64(aws.ToInt32(l.Port)) == port }
}

// forwardsTo reports whether the listener's default action forwards to the target group only.
func forwardsTo(l elbtypes.Listener, tgARN string) bool {
	if len(l.DefaultActions) != 1 || l.DefaultActions[0].Type != elbtypes.ActionTypeEnumForward {
		return false
	}
	a := l.DefaultActions[0]
	if aws.ToString(a.TargetGroupArn) == tgARN {
		return true
	}
	return a.ForwardConfig != nil && len(a.ForwardConfig.TargetGroups) == 1 && aws.ToString(a.ForwardConfig.TargetGroups[0].TargetGroupArn) == tgARN
}

// ensureListener finds or creates the TCP listener on the endpoint's port of the cluster's load
// balancer and converges its action and tags. A listener on that port that is not the endpoint's
// (another endpoint's, or someone else's) is an error.
func ensureListener(ctx context.Context, client *elbv2.Client, s EndpointSpec, c *Cluster, tgARN string, tags map[string]string) (string, error) {
	lbName := ResourceNames(c.Region, c.Name).LoadBalancer
	what := fmt.Sprintf("listener on port %d of load balancer %s", s.Port, lbName)
	found, err := listeners(ctx, client, c.LoadBalancerARN, onPort(s.Port))
	if err != nil {
		return "", err
	}
	forward := []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(tgARN)}}
	if len(found) == 0 {
		out, err := client.CreateListener(ctx, &elbv2.CreateListenerInput{
			LoadBalancerArn: aws.String(c.LoadBalancerARN), Protocol: elbtypes.ProtocolEnumTcp, Port: aws.Int32(int32(s.Port)),
			DefaultActions: forward, Tags: elbTags(tags),
		})
		if err != nil {
			return "", fmt.Errorf("creating %s: %w", what, err)
		}
		return aws.ToString(out.Listeners[0].ListenerArn), nil
	}
	l := found[0]
	if !owned(l.tags, s.Cluster, s.Name) {
		owner := "is untagged"
		if e := l.tags[TagEndpoint]; e != "" {
			owner = "belongs to endpoint " + e
		}
		return "", &backend.InputError{Attribute: "port", Detail: fmt.Sprintf("the %s (%s) %s, not to %s: use another of the cluster's serving ports", what, l.arn(), owner, s.Name)}
	}
	if !forwardsTo(l.l, tgARN) {
		if _, err := client.ModifyListener(ctx, &elbv2.ModifyListenerInput{ListenerArn: aws.String(l.arn()), DefaultActions: forward}); err != nil {
			return "", fmt.Errorf("pointing the %s at target group %s: %w", what, tgARN, err)
		}
	}
	return l.arn(), reconcileELBTags(ctx, client, l.arn(), what, l.tags, tags)
}

// healthyTargets counts the target group's healthy targets and describes the others.
func healthyTargets(ctx context.Context, client *elbv2.Client, tgARN string) (int64, []string, error) {
	out, err := client.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(tgARN)})
	if err != nil {
		return 0, nil, fmt.Errorf("reading target health of %s: %w", tgARN, err)
	}
	var healthy int64
	var others []string
	for _, d := range out.TargetHealthDescriptions {
		id := ""
		if d.Target != nil {
			id = aws.ToString(d.Target.Id)
		}
		h := d.TargetHealth
		if h == nil {
			continue
		}
		if h.State == elbtypes.TargetHealthStateEnumHealthy {
			healthy++
			continue
		}
		why := strings.TrimSpace(strings.Join(slices.DeleteFunc([]string{string(h.Reason), aws.ToString(h.Description)}, func(s string) bool { return s == "" }), ": "))
		if why != "" {
			why = " (" + why + ")"
		}
		others = append(others, fmt.Sprintf("%s %s%s", id, h.State, why))
	}
	return healthy, others, nil
}

// deleteEndpointTraffic deletes the endpoint's listeners on the cluster's load balancer and then
// its target group (each only when it is the endpoint's).
func deleteEndpointTraffic(ctx context.Context, client *elbv2.Client, lbARN, cluster, endpoint string) error {
	if lbARN != "" {
		ours, err := listeners(ctx, client, lbARN, func(elbtypes.Listener) bool { return true })
		if err != nil {
			return err
		}
		for _, l := range ours {
			if !owned(l.tags, cluster, endpoint) {
				continue
			}
			if _, err := client.DeleteListener(ctx, &elbv2.DeleteListenerInput{ListenerArn: aws.String(l.arn())}); err != nil && !hasCode(err, "ListenerNotFound") {
				return fmt.Errorf("deleting listener on port %d: %w", aws.ToInt32(l.l.Port), err)
			}
		}
	}
	name := EndpointResourceNames(cluster, endpoint).TargetGroup
	tg, err := findTargetGroup(ctx, client, name)
	if err != nil || tg == nil || !owned(tg.tags, cluster, endpoint) {
		return err
	}
	// A listener just deleted may hold the group a moment longer.
	return waitFor(ctx, "target group "+name+" to be deleted", func() (bool, error) {
		_, err := client.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: aws.String(tg.arn())})
		switch {
		case err == nil || hasCode(err, "TargetGroupNotFound"):
			return true, nil
		case hasCode(err, "ResourceInUse"):
			return false, nil
		}
		return false, fmt.Errorf("deleting target group %s: %w", name, err)
	})
}
