package provider_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest"
	awsbackend "github.com/inferstack/terraform-provider-inferstack/internal/backend/aws"
)

// The AWS cluster tests run against moto behind the harness proxy, each in a region of its own
// (faults and call counts are scoped by region), and ask moto directly, past the proxy, what
// exists. Regions taken in this package: us-east-1, us-west-2, ca-central-1 and sa-east-1 (data
// sources, which count catalogue calls per region), eu-west-1, eu-central-1, ap-southeast-2 and
// eu-west-2 (clusters), us-east-2, me-central-1 and ap-south-1 (endpoints). A new test takes a
// region of its own where moto offers g5.xlarge in zones a and b.

const awsClusterAddr = "inferstack_inference_cluster.test"

type awsClusterFixture struct {
	lab     *acctest.AWSLab
	region  string
	name    string
	network acctest.Network
	ami     string
}

func newAWSClusterFixture(t *testing.T, region, cidr string) awsClusterFixture {
	lab := acctest.AWS(t)
	lab.SetGPUQuotas(region, 256)
	return awsClusterFixture{
		lab: lab, region: region, name: acctest.TestName("aws"),
		network: lab.MakeNetwork(t, region, cidr, "a", "b"),
		ami:     lab.AMI(t, region),
	}
}

// config is the cluster with extra lines in its aws block, under a provider with default tags.
func (f awsClusterFixture) config(extra string) string {
	return f.lab.ProviderConfigWith(`    default_tags = { team = "ml-platform" }`) + fmt.Sprintf(`
resource "inferstack_inference_cluster" "test" {
  name = %q
  aws = {
    region        = %q
    subnet_ids    = [%q, %q]
    instance_type = "g5.xlarge"
    ami           = { id = %q }
    max_nodes     = 2
%s
  }
}
`, f.name, f.region, f.network.Subnets["a"], f.network.Subnets["b"], f.ami, extra)
}

func (f awsClusterFixture) elb() *elbv2.Client {
	return elbv2.NewFromConfig(f.lab.DirectConfig(f.region))
}
func (f awsClusterFixture) iam() *iam.Client { return iam.NewFromConfig(f.lab.DirectConfig(f.region)) }

// securityGroup is the cluster's security group as moto has it, or nil.
func (f awsClusterFixture) securityGroup() (*ec2types.SecurityGroup, error) {
	return f.groupNamed(awsbackend.ResourceNames(f.region, f.name).SecurityGroup)
}

// lbSecurityGroup is the load balancer's security group: the one that admits clients.
func (f awsClusterFixture) lbSecurityGroup() (*ec2types.SecurityGroup, error) {
	return f.groupNamed(awsbackend.ResourceNames(f.region, f.name).LoadBalancerSecurityGroup)
}

func (f awsClusterFixture) groupNamed(name string) (*ec2types.SecurityGroup, error) {
	out, err := f.lab.EC2(f.region).DescribeSecurityGroups(context.Background(), &ec2.DescribeSecurityGroupsInput{
		Filters: []ec2types.Filter{{Name: aws.String("tag:" + awsbackend.TagCluster), Values: []string{f.name}},
			{Name: aws.String("group-name"), Values: []string{name}}},
	})
	if err != nil || len(out.SecurityGroups) == 0 {
		return nil, err
	}
	return &out.SecurityGroups[0], nil
}

// leftovers lists every AWS object of the cluster moto still has.
func (f awsClusterFixture) leftovers() ([]string, error) {
	ctx := context.Background()
	n := awsbackend.ResourceNames(f.region, f.name)
	var left []string
	for _, get := range []func() (*ec2types.SecurityGroup, error){f.securityGroup, f.lbSecurityGroup} {
		if sg, err := get(); err != nil {
			return nil, err
		} else if sg != nil {
			left = append(left, "security group "+aws.ToString(sg.GroupId))
		}
	}
	lbs, err := f.elb().DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{})
	if err != nil {
		return nil, err
	}
	for _, lb := range lbs.LoadBalancers {
		if aws.ToString(lb.LoadBalancerName) == n.LoadBalancer {
			left = append(left, "load balancer "+n.LoadBalancer)
		}
	}
	if _, err := f.iam().GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(n.Role)}); err == nil {
		left = append(left, "role "+n.Role)
	}
	if _, err := f.iam().GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(n.InstanceProfile)}); err == nil {
		left = append(left, "instance profile "+n.InstanceProfile)
	}
	lts, err := f.lab.EC2(f.region).DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{
		Filters: []ec2types.Filter{{Name: aws.String("tag:" + awsbackend.TagCluster), Values: []string{f.name}}},
	})
	if err != nil {
		return nil, err
	}
	for _, lt := range lts.LaunchTemplates {
		left = append(left, "launch template "+aws.ToString(lt.LaunchTemplateName))
	}
	return left, nil
}

func (f awsClusterFixture) checkDestroyed(*terraform.State) error { return noLeftovers(f.leftovers) }

// noLeftovers fails when list names anything still on AWS.
func noLeftovers(list func() ([]string, error)) error {
	left, err := list()
	if err != nil {
		return err
	}
	if len(left) > 0 {
		return fmt.Errorf("left behind on AWS: %s", strings.Join(left, ", "))
	}
	return nil
}

// checkIngress asserts the security group admits exactly cidrs on port.
func (f awsClusterFixture) checkIngress(port int32, cidrs ...string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		sg, err := f.lbSecurityGroup()
		if err != nil || sg == nil {
			return fmt.Errorf("the load balancer's security group is not in moto: %v", err)
		}
		// The nodes admit only the load balancer's group (issue #11: node ports are not open to the VPC).
		nodes, err := f.securityGroup()
		if err != nil || nodes == nil {
			return fmt.Errorf("the nodes' security group is not in moto: %v", err)
		}
		for _, p := range nodes.IpPermissions {
			if len(p.IpRanges) > 0 || len(p.Ipv6Ranges) > 0 || len(p.UserIdGroupPairs) != 1 ||
				aws.ToString(p.UserIdGroupPairs[0].GroupId) != aws.ToString(sg.GroupId) {
				return fmt.Errorf("the nodes' group admits %+v, want only the load balancer's group %s", p, aws.ToString(sg.GroupId))
			}
		}
		if len(nodes.IpPermissions) == 0 {
			return fmt.Errorf("the nodes' group admits nothing, want the load balancer's group on the serving ports")
		}
		var got []string
		for _, p := range sg.IpPermissions {
			if aws.ToInt32(p.FromPort) != port {
				return fmt.Errorf("security group opens port %d, want only %d", aws.ToInt32(p.FromPort), port)
			}
			for _, r := range p.IpRanges {
				got = append(got, aws.ToString(r.CidrIp))
			}
		}
		if !sameStrings(got, cidrs) {
			return fmt.Errorf("security group admits %v on %d, want %v", got, port, cidrs)
		}
		tags := map[string]string{}
		for _, t := range sg.Tags {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
		if tags["team"] != "ml-platform" || tags[awsbackend.TagCluster] != f.name {
			return fmt.Errorf("security group tags %v: want the provider's default tag team=ml-platform and %s=%s", tags, awsbackend.TagCluster, f.name)
		}
		return nil
	}
}

func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]int{}
	for _, x := range a {
		seen[x]++
	}
	for _, x := range b {
		seen[x]--
	}
	for _, v := range seen {
		if v != 0 {
			return false
		}
	}
	return true
}

func TestAccInferenceClusterAWS_basic(t *testing.T) {
	t.Parallel()
	f := newAWSClusterFixture(t, "eu-west-1", "10.61.0.0/16")
	id := awsbackend.ClusterID(f.region, f.name)

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		CheckDestroy:             f.checkDestroyed,
		Steps: []resource.TestStep{
			{
				Config: f.config(""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					// Known at plan time, from the preflight against moto.
					plancheck.ExpectKnownValue(awsClusterAddr, tfjsonpath.New("id"), knownvalue.StringExact(id)),
					plancheck.ExpectKnownValue(awsClusterAddr, tfjsonpath.New("aws").AtMapKey("gpu"), knownvalue.ObjectExact(map[string]knownvalue.Check{
						"model": knownvalue.StringExact("A10G"), "count": knownvalue.Int64Exact(1), "memory_mib": knownvalue.Int64Exact(22888),
					})),
					plancheck.ExpectKnownValue(awsClusterAddr, tfjsonpath.New("aws").AtMapKey("quota").AtMapKey("needed_vcpus"), knownvalue.Int64Exact(8)),
					plancheck.ExpectKnownValue(awsClusterAddr, tfjsonpath.New("onprem"), knownvalue.Null()),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(awsClusterAddr, tfjsonpath.New("aws").AtMapKey("security_group_id"), knownvalue.StringRegexp(regexp.MustCompile(`^sg-`))),
					statecheck.ExpectKnownValue(awsClusterAddr, tfjsonpath.New("aws").AtMapKey("vpc_id"), knownvalue.StringExact(f.network.VPCID)),
					statecheck.ExpectKnownValue(awsClusterAddr, tfjsonpath.New("aws").AtMapKey("load_balancer_dns"), knownvalue.StringRegexp(regexp.MustCompile(`\.elb\.`))),
					statecheck.ExpectKnownValue(awsClusterAddr, tfjsonpath.New("aws").AtMapKey("launch_template_id"), knownvalue.StringRegexp(regexp.MustCompile(`^lt-`))),
					statecheck.ExpectKnownValue(awsClusterAddr, tfjsonpath.New("aws").AtMapKey("instance_profile_arn"), knownvalue.StringRegexp(regexp.MustCompile(`^arn:aws:iam::\d+:instance-profile/inferstack/`))),
					statecheck.ExpectKnownValue(awsClusterAddr, tfjsonpath.New("aws").AtMapKey("quota").AtMapKey("code"), knownvalue.StringExact("L-DB2E81BA")),
					statecheck.ExpectKnownValue(awsClusterAddr, tfjsonpath.New("aws").AtMapKey("image_id"), knownvalue.StringExact(f.ami)),
					statecheck.ExpectKnownValue(awsClusterAddr, tfjsonpath.New("aws").AtMapKey("serving_ports"), knownvalue.ListExact([]knownvalue.Check{knownvalue.Int64Exact(8000)})),
				},
				Check: f.checkIngress(8000, "10.61.0.0/16"),
			},
			{
				ResourceName:      awsClusterAddr,
				ImportState:       true,
				ImportStateId:     f.region + "/" + f.name,
				ImportStateVerify: true,
				// Preflight facts are learned when the aws block changes, not read back from AWS.
				ImportStateVerifyIgnore: []string{"aws.gpu", "aws.quota", "aws.spot_quota", "timeouts"},
			},
			{
				// allowed_cidrs and serving_ports change in place: the security group follows.
				Config: f.config(`    allowed_cidrs = ["10.61.1.0/24", "192.168.0.0/16"]
    serving_ports = [8080]`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(awsClusterAddr, plancheck.ResourceActionUpdate),
				}},
				Check: f.checkIngress(8080, "10.61.1.0/24", "192.168.0.0/16"),
			},
			{
				// The cluster's own tags, in place, over the provider's default tags: on every object.
				Config: f.config(`    allowed_cidrs = ["10.61.1.0/24", "192.168.0.0/16"]
    serving_ports = [8080]
    tags          = { cost-center = "ml-42", team = "research" }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(awsClusterAddr, plancheck.ResourceActionUpdate),
				}},
				Check: f.checkTags(map[string]string{"cost-center": "ml-42", "team": "research"}),
			},
			{
				ResourceName:            awsClusterAddr,
				ImportState:             true,
				ImportStateId:           f.region + "/" + f.name,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"aws.gpu", "aws.quota", "aws.spot_quota", "timeouts"},
			},
			{
				// A tag added outside Terraform is drift: the plan removes it again.
				PreConfig: func() {
					sg, err := f.securityGroup()
					if err == nil && sg == nil {
						err = fmt.Errorf("no security group")
					}
					if err == nil {
						_, err = f.lab.EC2(f.region).CreateTags(context.Background(), &ec2.CreateTagsInput{
							Resources: []string{aws.ToString(sg.GroupId)}, Tags: []ec2types.Tag{{Key: aws.String("owner"), Value: aws.String("someone")}}})
					}
					if err != nil {
						t.Fatalf("tagging the security group out of band: %v", err)
					}
				},
				Config: f.config(`    allowed_cidrs = ["10.61.1.0/24", "192.168.0.0/16"]
    serving_ports = [8080]
    tags          = { cost-center = "ml-42", team = "research" }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(awsClusterAddr, plancheck.ResourceActionUpdate),
				}},
				Check: f.checkTags(map[string]string{"cost-center": "ml-42", "team": "research", "owner": ""}),
			},
		},
	})
}

// checkTags checks want on the cluster's security groups, role and load balancer; an empty value
// means the key must be absent.
func (f awsClusterFixture) checkTags(want map[string]string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := context.Background()
		n := awsbackend.ResourceNames(f.region, f.name)
		got := map[string]map[string]string{}
		for what, get := range map[string]func() (*ec2types.SecurityGroup, error){"security group": f.securityGroup, "load balancer security group": f.lbSecurityGroup} {
			sg, err := get()
			if err != nil || sg == nil {
				return fmt.Errorf("reading the %s: %v", what, err)
			}
			got[what] = map[string]string{}
			for _, t := range sg.Tags {
				got[what][aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
		}
		role, err := f.iam().GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(n.Role)})
		if err != nil {
			return fmt.Errorf("reading the role: %v", err)
		}
		got["role"] = map[string]string{}
		for _, t := range role.Role.Tags {
			got["role"][aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
		lbs, err := f.elb().DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{n.LoadBalancer}})
		if err != nil || len(lbs.LoadBalancers) != 1 {
			return fmt.Errorf("reading the load balancer: %v", err)
		}
		tags, err := f.elb().DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: []string{aws.ToString(lbs.LoadBalancers[0].LoadBalancerArn)}})
		if err != nil || len(tags.TagDescriptions) != 1 {
			return fmt.Errorf("reading the load balancer's tags: %v", err)
		}
		got["load balancer"] = map[string]string{}
		for _, t := range tags.TagDescriptions[0].Tags {
			got["load balancer"][aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
		for what, have := range got {
			for k, v := range want {
				if have[k] != v {
					return fmt.Errorf("%s: tag %s is %q, want %q (tags %v)", what, k, have[k], v, have)
				}
			}
		}
		return nil
	}
}

// TestAccInferenceClusterAWS_disappears: a load balancer deleted behind Terraform's back makes the
// cluster incomplete; the next plan creates it again and the apply adopts what is left.
func TestAccInferenceClusterAWS_disappears(t *testing.T) {
	t.Parallel()
	f := newAWSClusterFixture(t, "eu-central-1", "10.62.0.0/16")
	n := awsbackend.ResourceNames(f.region, f.name)
	var sgID string

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		CheckDestroy:             f.checkDestroyed,
		Steps: []resource.TestStep{
			{
				Config: f.config(""),
				Check: func(*terraform.State) error {
					sg, err := f.securityGroup()
					if sg == nil {
						return fmt.Errorf("no security group: %v", err)
					}
					sgID = aws.ToString(sg.GroupId)
					return nil
				},
			},
			{
				PreConfig: func() {
					ctx := context.Background()
					lbs, err := f.elb().DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{n.LoadBalancer}})
					if err != nil || len(lbs.LoadBalancers) != 1 {
						t.Fatalf("finding the load balancer in moto: %v", err)
					}
					if _, err := f.elb().DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: lbs.LoadBalancers[0].LoadBalancerArn}); err != nil {
						t.Fatalf("deleting the load balancer behind Terraform's back: %v", err)
					}
				},
				Config: f.config(""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(awsClusterAddr, plancheck.ResourceActionCreate),
				}},
				Check: func(*terraform.State) error {
					lbs, err := f.elb().DescribeLoadBalancers(context.Background(), &elbv2.DescribeLoadBalancersInput{Names: []string{n.LoadBalancer}})
					if err != nil || len(lbs.LoadBalancers) != 1 {
						return fmt.Errorf("the load balancer was not made again: %v", err)
					}
					sg, err := f.securityGroup()
					if sg == nil || aws.ToString(sg.GroupId) != sgID {
						return fmt.Errorf("the security group was not adopted (had %s, now %v, err %v)", sgID, sg, err)
					}
					return nil
				},
			},
		},
	})
}

// TestAccInferenceClusterAWS_badInput: problems found against AWS fail the plan, naming the
// attribute and the numbers; nothing is created.
func TestAccInferenceClusterAWS_badInput(t *testing.T) {
	t.Parallel()
	f := newAWSClusterFixture(t, "ap-southeast-2", "10.63.0.0/16")
	f.lab.SetQuota(f.region, "L-DB2E81BA", 4) // one g5.xlarge; max_nodes = 2 needs 8

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		CheckDestroy:             f.checkDestroyed,
		Steps: []resource.TestStep{
			{
				Config:      f.config(""),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)aws\.capacity:\s+needs\s+8\s+vCPUs.*L-DB2E81BA.*is\s+4\s+in\s+ap-southeast-2.*at\s+least\s+8`),
			},
			{
				Config:      strings.Replace(f.config(""), `"g5.xlarge"`, `"m5.large"`, 1),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)aws\.instance_type:\s+m5\.large\s+has\s+no\s+GPUs`),
			},
			{
				Config:      strings.Replace(f.config(""), f.network.Subnets["b"], "subnet-0123456789abcdef0", 1),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)aws\.subnet_ids:\s+subnets\s+subnet-0123456789abcdef0\s+do\s+not\s+exist`),
			},
			{
				Config: f.config("") + `
resource "inferstack_inference_cluster" "both" {
  name   = "both"
  aws    = { subnet_ids = ["subnet-0123456789abcdef0"], instance_type = "g5.xlarge" }
  onprem = { hosts = [{ name = "a", address = "127.0.0.1" }] }
}`,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`Set\s+exactly\s+one\s+backend\s+block\s+\(aws,\s+azure,\s+kubernetes,\s+onprem\);\s+2\s+are\s+set`),
			},
		},
	})
}

// TestAccInferenceClusterAWS_faults: throttling and 5xx answers on the creating calls are retried
// and the apply succeeds, each object made once.
func TestAccInferenceClusterAWS_faults(t *testing.T) {
	t.Parallel()
	f := newAWSClusterFixture(t, "eu-west-2", "10.64.0.0/16")
	for _, fault := range []acctest.Fault{
		{Region: f.region, Service: "ec2", Operation: "CreateSecurityGroup", Kind: acctest.Throttle, Times: 2},
		{Region: f.region, Service: "elasticloadbalancing", Operation: "CreateLoadBalancer", Kind: acctest.ServerError, Times: 2},
		{Region: f.region, Service: "ec2", Operation: "CreateLaunchTemplate", Kind: acctest.Throttle, Times: 1},
	} {
		f.lab.Proxy.Inject(fault)
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		CheckDestroy:             f.checkDestroyed,
		Steps: []resource.TestStep{{
			Config: f.config(""),
			Check: func(*terraform.State) error {
				var errs []error
				for _, op := range [][2]string{{"ec2", "CreateSecurityGroup"}, {"elasticloadbalancing", "CreateLoadBalancer"}} {
					if n := f.lab.Proxy.CountRegion(f.region, op[0], op[1]); n < 3 {
						errs = append(errs, fmt.Errorf("%s:%s reached the lab %d times; the faults were not retried", op[0], op[1], n))
					}
				}
				sgs, err := f.lab.EC2(f.region).DescribeSecurityGroups(context.Background(), &ec2.DescribeSecurityGroupsInput{
					Filters: []ec2types.Filter{{Name: aws.String("group-name"), Values: []string{awsbackend.ResourceNames(f.region, f.name).SecurityGroup}}},
				})
				switch {
				case err != nil:
					errs = append(errs, fmt.Errorf("want exactly one security group after retries: %w", err))
				case len(sgs.SecurityGroups) != 1:
					errs = append(errs, fmt.Errorf("want exactly one security group after retries, found %d", len(sgs.SecurityGroups)))
				}
				return errors.Join(errs...)
			},
		}},
	})
}

// TestAccInferenceClusterAWS_interrupted: a create that fails part way (the proxy fails the
// third mutating AWS call on every attempt) leaves the cluster's ID in state, tainted; the next
// apply converges with exactly one of every object: no orphan, no duplicate. Not parallel: the
// fault counts every mutating call the proxy sees.
func TestAccInferenceClusterAWS_interrupted(t *testing.T) {
	f := newAWSClusterFixture(t, "us-east-2", "10.75.0.0/16")
	countGroups := func() (int, error) {
		out, err := f.lab.EC2(f.region).DescribeSecurityGroups(context.Background(), &ec2.DescribeSecurityGroupsInput{
			Filters: []ec2types.Filter{{Name: aws.String("tag:" + awsbackend.TagCluster), Values: []string{f.name}}},
		})
		if err != nil {
			return 0, err
		}
		return len(out.SecurityGroups), nil
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		CheckDestroy:             f.checkDestroyed,
		Steps: []resource.TestStep{
			{
				PreConfig:   func() { f.lab.FailNthMutation(3) },
				Config:      f.config(""),
				ExpectError: regexp.MustCompile(`creating inference cluster`),
			},
			{
				PreConfig: func() {
					if hit := f.lab.Proxy.ClearMutationFault(); hit == "" {
						t.Fatal("the fault never struck: the create made fewer than 3 mutating calls")
					}
				},
				Config: f.config(""),
				Check: func(*terraform.State) error {
					if n, err := countGroups(); err != nil || n != 2 {
						return fmt.Errorf("moto holds %d security groups of the cluster (err %v), want 2: one for the nodes, one for the load balancer", n, err)
					}
					lbs, err := f.elb().DescribeLoadBalancers(context.Background(), &elbv2.DescribeLoadBalancersInput{})
					if err != nil {
						return err
					}
					n := 0
					for _, lb := range lbs.LoadBalancers {
						if aws.ToString(lb.LoadBalancerName) == awsbackend.ResourceNames(f.region, f.name).LoadBalancer {
							n++
						}
					}
					if n != 1 {
						return fmt.Errorf("moto holds %d load balancers of the cluster, want 1", n)
					}
					return nil
				},
			},
		},
	})
}
