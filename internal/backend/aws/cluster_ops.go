package aws

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/inferstack/terraform-provider-inferstack/internal/wait"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// DefaultWaitTimeout bounds a wait whose context has no deadline (the resource's timeouts
// normally set one).
const DefaultWaitTimeout = 20 * time.Minute

// pollInterval is how often waits look again; tests shorten it.
var pollInterval = 5 * time.Second

// waitFor calls check until it reports done or fails, or until ctx ends (DefaultWaitTimeout when
// ctx has no deadline). The first check runs at once.
func waitFor(ctx context.Context, what string, check func() (bool, error)) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultWaitTimeout)
		defer cancel()
	}
	return wait.Until(ctx, pollInterval, what, func(context.Context) (bool, error, error) {
		done, err := check()
		return done, nil, err
	})
}

// EnsureCluster makes the cluster spec describes exist and match it, and returns it: it runs
// CheckCluster first (and returns its error before creating anything), then finds each object by
// name and the tag inferstack:cluster=<name> and creates only what is missing, so a retried or
// interrupted apply converges instead of duplicating. Existing objects are brought in line: the
// security group's ingress rules (allowed CIDRs, serving ports), tags everywhere, the role's
// policies, the load balancer's subnets, the base launch template (a new default version when its
// data changes, and the settings in its tags). It does not wait for the load balancer to become active;
// WaitClusterReady does. An object with the cluster's name that is not tagged as the cluster's is
// an error, never adopted.
func (b *Backend) EnsureCluster(ctx context.Context, spec ClusterSpec) (*Cluster, error) {
	pf, err := b.CheckCluster(ctx, spec)
	if err != nil {
		return nil, err
	}
	region := pf.Region
	n := ResourceNames(region, spec.Name)
	tags := clusterTags(spec)

	ec2c, err := b.EC2(ctx, region)
	if err != nil {
		return nil, err
	}
	iamc, err := b.IAM(ctx, region)
	if err != nil {
		return nil, err
	}
	elbc, err := b.ELBv2(ctx, region)
	if err != nil {
		return nil, err
	}

	// The load balancer moves to its own group before the nodes' group drops the client CIDRs
	// (a cluster made when one group served both), so clients are never shut out between.
	lbGroupID, err := ensureLoadBalancerGroup(ctx, ec2c, spec, pf, n, tags)
	if err != nil {
		return nil, err
	}
	if _, err := ensureRole(ctx, iamc, spec, region, n, tags); err != nil {
		return nil, err
	}
	ip, err := ensureInstanceProfile(ctx, iamc, spec, n, tags)
	if err != nil {
		return nil, err
	}
	if _, err := ensureLoadBalancer(ctx, elbc, spec, pf, n, lbGroupID, tags); err != nil {
		return nil, err
	}
	sgID, err := ensureNodeGroup(ctx, ec2c, spec, pf, n, lbGroupID, tags)
	if err != nil {
		return nil, err
	}
	ltTags := settingsTags(spec, pf)
	for k, v := range tags {
		ltTags[k] = v
	}
	want := baseTemplate(spec, pf, sgID, aws.ToString(ip.Arn), tags)
	if err := ensureClusterTemplate(ctx, ec2c, spec.Name, n, want, ltTags); err != nil {
		return nil, err
	}

	c, err := b.readCluster(ctx, region, spec.Name)
	if err != nil {
		return nil, err
	}
	c.GPU = pf.GPU
	c.Quota = pf.Quota
	c.SpotQuota = pf.SpotQuota
	c.Warnings = pf.Warnings
	return c, nil
}

// UpdateCluster applies a changed spec in place: allowed_cidrs and serving ports become the
// security group's ingress rules, tags are set and removed on every object, subnets (in the same
// VPC) become the load balancer's, and a changed instance type, AMI or capacity is checked again
// (CheckCluster) so the returned GPU and quota facts are current. Moving to another VPC is an
// error: that replaces the cluster. It converges exactly as EnsureCluster does, so it also
// recreates parts deleted behind the provider's back (see Cluster.Missing).
func (b *Backend) UpdateCluster(ctx context.Context, spec ClusterSpec) (*Cluster, error) {
	return b.EnsureCluster(ctx, spec)
}

// FindCluster reads the cluster name in region ("" = the provider's). When none of its objects
// exists it returns an error wrapping backend.ErrNotFound; when only some do, it returns the
// cluster with Missing naming the rest. The preflight facts (GPU, quota) are left zero; the
// instance type, image and the settings an endpoint needs come from the base launch template.
func (b *Backend) FindCluster(ctx context.Context, region, name string) (*Cluster, error) {
	region, err := b.ResolveRegion(ctx, region)
	if err != nil {
		return nil, err
	}
	return b.readCluster(ctx, region, name)
}

func (b *Backend) readCluster(ctx context.Context, region, name string) (*Cluster, error) {
	n := ResourceNames(region, name)
	ec2c, err := b.EC2(ctx, region)
	if err != nil {
		return nil, err
	}
	iamc, err := b.IAM(ctx, region)
	if err != nil {
		return nil, err
	}
	elbc, err := b.ELBv2(ctx, region)
	if err != nil {
		return nil, err
	}
	c := &Cluster{ID: ClusterID(region, name), Name: name, Region: region, SecretsPrefix: n.SecretsPrefix}

	sg, err := findSecurityGroup(ctx, ec2c, name, n.SecurityGroup)
	if err != nil {
		return nil, err
	}
	lbg, err := findSecurityGroup(ctx, ec2c, name, n.LoadBalancerSecurityGroup)
	if err != nil {
		return nil, err
	}
	if sg != nil {
		c.SecurityGroupID = aws.ToString(sg.GroupId)
		c.VPCID = aws.ToString(sg.VpcId)
		_, c.ServingPorts = rulesView(*sg)
		c.Tags = ec2TagMap(sg.Tags)
	} else {
		c.Missing = append(c.Missing, "security group")
	}
	if lbg != nil {
		// Who may call the endpoints is the load balancer's group's business.
		c.LoadBalancerSecurityGroupID = aws.ToString(lbg.GroupId)
		c.AllowedCIDRs, c.ServingPorts = rulesView(*lbg)
		if c.VPCID == "" {
			c.VPCID = aws.ToString(lbg.VpcId)
		}
	} else {
		c.Missing = append(c.Missing, "load balancer security group")
	}
	if c.VPCID != "" {
		vo, err := ec2c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{c.VPCID}})
		if err != nil && !hasCode(err, "InvalidVpcID.NotFound") {
			return nil, fmt.Errorf("describing VPC %s: %w", c.VPCID, err)
		}
		if err == nil && len(vo.Vpcs) > 0 {
			c.VPCCIDR = aws.ToString(vo.Vpcs[0].CidrBlock)
		}
	}

	role, err := getRole(ctx, iamc, n.Role)
	if err != nil {
		return nil, err
	}
	if role != nil && iamTagMap(role.Tags)[TagCluster] == name {
		c.RoleName, c.RoleARN = aws.ToString(role.RoleName), aws.ToString(role.Arn)
	} else {
		c.Missing = append(c.Missing, "IAM role")
	}

	ip, err := getInstanceProfile(ctx, iamc, n.InstanceProfile)
	if err != nil {
		return nil, err
	}
	if ip != nil && iamTagMap(ip.Tags)[TagCluster] == name {
		c.InstanceProfileName, c.InstanceProfileARN = aws.ToString(ip.InstanceProfileName), aws.ToString(ip.Arn)
		if len(ip.Roles) == 0 || aws.ToString(ip.Roles[0].RoleName) != n.Role {
			c.Missing = append(c.Missing, "IAM role in the instance profile")
		}
	} else {
		c.Missing = append(c.Missing, "instance profile")
	}

	lb, err := findLoadBalancer(ctx, elbc, n)
	if err != nil {
		return nil, err
	}
	if lb != nil && lb.tags[TagCluster] == name {
		c.LoadBalancerARN = aws.ToString(lb.lb.LoadBalancerArn)
		c.LoadBalancerDNS = aws.ToString(lb.lb.DNSName)
		if lb.lb.State != nil {
			c.LoadBalancerState = string(lb.lb.State.Code)
		}
		c.LoadBalancerSubnetIDs = lbSubnets(lb.lb)
		if c.VPCID == "" {
			c.VPCID = aws.ToString(lb.lb.VpcId)
		}
	} else {
		c.Missing = append(c.Missing, "load balancer")
	}

	lt, err := findLaunchTemplate(ctx, ec2c, n.LaunchTemplate)
	if err != nil {
		return nil, err
	}
	if lt != nil && owned(lt.tags, name, "") {
		if err := readClusterTemplate(ctx, ec2c, lt, c); err != nil {
			return nil, err
		}
	} else {
		c.Missing = append(c.Missing, "launch template")
	}

	if c.SecurityGroupID == "" && c.LoadBalancerSecurityGroupID == "" && c.RoleName == "" && c.InstanceProfileName == "" && c.LoadBalancerARN == "" && c.LaunchTemplateID == "" {
		return nil, notFound("inference cluster %s in %s", name, region)
	}
	return c, nil
}

// WaitClusterReady waits until every part of the cluster exists and its load balancer is active,
// and returns it; a failed load balancer is an error. Bound it with ctx (the resource's create
// timeout); without a deadline it gives up after DefaultWaitTimeout.
func (b *Backend) WaitClusterReady(ctx context.Context, region, name string) (*Cluster, error) {
	region, err := b.ResolveRegion(ctx, region)
	if err != nil {
		return nil, err
	}
	var c *Cluster
	err = waitFor(ctx, fmt.Sprintf("inference cluster %s in %s to be ready", name, region), func() (bool, error) {
		cur, err := b.readCluster(ctx, region, name)
		if err != nil {
			return false, err
		}
		c = cur
		if cur.LoadBalancerState == "failed" {
			return false, fmt.Errorf("load balancer of inference cluster %s failed to provision", name)
		}
		return len(cur.Missing) == 0 && cur.LoadBalancerState == "active", nil
	})
	if err != nil && c != nil && len(c.Missing) > 0 {
		err = fmt.Errorf("%w (missing: %s)", err, strings.Join(c.Missing, ", "))
	}
	return c, err
}

// DeleteCluster deletes everything the cluster is made of (the load balancer and the base launch
// template, then the nodes' and the load balancer's security groups, then the instance profile and role) and waits until AWS no longer returns them. Only
// objects tagged as the cluster's are touched. A cluster that does not exist is success. A
// security group is retried while it is still in use (the load balancer's network interfaces take
// a while to go; an endpoint's nodes must be gone first) until ctx ends.
func (b *Backend) DeleteCluster(ctx context.Context, region, name string) error {
	region, err := b.ResolveRegion(ctx, region)
	if err != nil {
		return err
	}
	n := ResourceNames(region, name)
	ec2c, err := b.EC2(ctx, region)
	if err != nil {
		return err
	}
	iamc, err := b.IAM(ctx, region)
	if err != nil {
		return err
	}
	elbc, err := b.ELBv2(ctx, region)
	if err != nil {
		return err
	}

	if err := b.checkNoEndpoints(ctx, region, name); err != nil {
		return err
	}
	if err := deleteLoadBalancer(ctx, elbc, name, n); err != nil {
		return err
	}
	if err := deleteLaunchTemplate(ctx, ec2c, n.LaunchTemplate, name, ""); err != nil {
		return err
	}

	// The nodes' group first: it references the load balancer's, which AWS will not delete
	// while it is referenced.
	for _, g := range []string{n.SecurityGroup, n.LoadBalancerSecurityGroup} {
		if err := deleteSecurityGroup(ctx, ec2c, name, g); err != nil {
			return err
		}
	}

	return deleteIAM(ctx, iamc, name, n)
}

// checkNoEndpoints refuses to delete a cluster whose endpoints still have Auto Scaling groups:
// their instances hold the security group, so the delete could only wait out its timeout on
// DependencyViolation. Nothing is deleted then, and the error names the endpoints.
func (b *Backend) checkNoEndpoints(ctx context.Context, region, name string) error {
	asc, err := b.AutoScaling(ctx, region)
	if err != nil {
		return err
	}
	groups, err := endpointGroups(ctx, asc, name)
	if err != nil {
		return err
	}
	if len(groups) > 0 {
		return fmt.Errorf("cluster %s still runs endpoint(s) %s: destroy them first (Terraform orders that itself when "+
			"they reference the cluster's id); nothing of the cluster was deleted", name, strings.Join(groupEndpoints(groups), ", "))
	}
	return nil
}

// endpointGroups lists the Auto Scaling groups of cluster's endpoints (tagged with both the
// cluster and an endpoint).
func endpointGroups(ctx context.Context, asc *autoscaling.Client, cluster string) ([]astypes.AutoScalingGroup, error) {
	var groups []astypes.AutoScalingGroup
	p := autoscaling.NewDescribeAutoScalingGroupsPaginator(asc, &autoscaling.DescribeAutoScalingGroupsInput{
		Filters: []astypes.Filter{{Name: aws.String("tag:" + TagCluster), Values: []string{cluster}}},
	})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing the endpoints of cluster %s: %w", cluster, err)
		}
		for _, g := range out.AutoScalingGroups {
			if groupTagMap(g.Tags)[TagEndpoint] != "" {
				groups = append(groups, g)
			}
		}
	}
	return groups, nil
}

// groupEndpoints names the endpoints of groups, sorted.
func groupEndpoints(groups []astypes.AutoScalingGroup) []string {
	var out []string
	for _, g := range groups {
		out = append(out, groupTagMap(g.Tags)[TagEndpoint])
	}
	slices.Sort(out)
	return out
}
