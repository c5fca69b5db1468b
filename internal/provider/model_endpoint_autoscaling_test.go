package provider_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
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

// policy is the endpoint group's target-tracking policy in moto, or nil.
func (f awsClusterFixture) policy(endpoint string) (*astypes.ScalingPolicy, error) {
	g, err := f.group(endpoint)
	if err != nil || g == nil {
		return nil, fmt.Errorf("finding the group of %s: %v", endpoint, err)
	}
	out, err := f.autoscaling().DescribePolicies(context.Background(), &autoscaling.DescribePoliciesInput{AutoScalingGroupName: g.AutoScalingGroupName})
	if err != nil {
		return nil, err
	}
	for i := range out.ScalingPolicies {
		return &out.ScalingPolicies[i], nil
	}
	return nil, nil
}

// checkPolicy asks moto that the group tracks metric (CloudWatch name) at value, from the
// serving signals its nodes publish, or (metric "") that it has no policy.
func (f awsClusterFixture) checkPolicy(endpoint, metric string, value float64) resource.TestCheckFunc {
	return func(*terraform.State) error {
		p, err := f.policy(endpoint)
		if err != nil {
			return err
		}
		if metric == "" {
			if p != nil {
				return fmt.Errorf("the group still has policy %s", aws.ToString(p.PolicyName))
			}
			return nil
		}
		if p == nil || p.TargetTrackingConfiguration == nil || p.TargetTrackingConfiguration.CustomizedMetricSpecification == nil {
			return fmt.Errorf("the group has no target-tracking policy on a custom metric: %+v", p)
		}
		c := p.TargetTrackingConfiguration
		m := c.CustomizedMetricSpecification
		g, _ := f.group(endpoint)
		if aws.ToFloat64(c.TargetValue) != value || aws.ToString(m.MetricName) != metric || aws.ToString(m.Namespace) != awsbackend.MetricsNamespace ||
			len(m.Dimensions) != 1 || aws.ToString(m.Dimensions[0].Name) != "AutoScalingGroupName" || aws.ToString(m.Dimensions[0].Value) != aws.ToString(g.AutoScalingGroupName) {
			return fmt.Errorf("policy tracks %s/%s %+v at %g; want %s/%s by its group at %g", aws.ToString(m.Namespace), aws.ToString(m.MetricName),
				m.Dimensions, aws.ToFloat64(c.TargetValue), awsbackend.MetricsNamespace, metric, value)
		}
		return nil
	}
}

// checkPublishGrant asks moto that the nodes' role may put metrics in our namespace only.
func (f awsClusterFixture) checkPublishGrant(s *terraform.State) error {
	arn := s.RootModule().Resources[awsClusterAddr].Primary.Attributes["aws.role_arn"]
	role := arn[strings.LastIndex(arn, "/")+1:]
	out, err := f.iam().ListRolePolicies(context.Background(), &iam.ListRolePoliciesInput{RoleName: aws.String(role)})
	if err != nil {
		return err
	}
	for _, name := range out.PolicyNames {
		p, err := f.iam().GetRolePolicy(context.Background(), &iam.GetRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(name)})
		if err != nil {
			return err
		}
		doc, _ := url.QueryUnescape(aws.ToString(p.PolicyDocument))
		if strings.Contains(doc, "cloudwatch:PutMetricData") && strings.Contains(doc, `"cloudwatch:namespace":"`+awsbackend.MetricsNamespace+`"`) {
			return nil
		}
	}
	return fmt.Errorf("no inline policy of role %s grants cloudwatch:PutMetricData in %s", role, awsbackend.MetricsNamespace)
}

// Autoscaling on serving signals on AWS (il-central-1: no other provider test uses it, and
// catalogOncePerRun counts calls in sa-east-1): bad targets refused at plan time; a target makes the
// nodes publish (their user data and role) and a target-tracking policy on the group; a change
// updates it, a policy deleted outside Terraform is planned back, no target removes it.
func TestAccModelEndpointAWS_autoscalingTarget(t *testing.T) {
	t.Parallel()
	f := newAWSClusterFixture(t, "il-central-1", "10.77.0.0/16")
	ep := acctest.TestName("as")
	scaling := func(min, max int, target string) string {
		if target != "" {
			target = ", target = " + target
		}
		return fmt.Sprintf("  autoscaling = { min = %d, max = %d%s }", min, max, target)
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		CheckDestroy:             f.checkEndpointDestroyed,
		Steps: []resource.TestStep{
			{
				Config: f.endpointConfig(ep, 1, scaling(1, 3, `{ metric = "cpu", value = 4 }`)), PlanOnly: true,
				ExpectError: errorLike(`value must be one of: ["kv_cache_usage" "requests_running" "requests_waiting"]`),
			},
			{
				Config: f.endpointConfig(ep, 1, scaling(1, 3, `{ metric = "requests_waiting", value = 0 }`)), PlanOnly: true,
				ExpectError: errorLike("value must be at least"),
			},
			{
				Config: f.endpointConfig(ep, 1, scaling(2, 2, `{ metric = "requests_waiting", value = 4 }`)), PlanOnly: true,
				ExpectError: errorLike("min and max are both 2, so there is nothing to scale"),
			},
			{
				Config: f.endpointConfig(ep, 1, scaling(1, 3, `{ metric = "requests_waiting", value = 4 }`)),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(endpointAddr, tfjsonpath.New("autoscaling").AtMapKey("target").AtMapKey("value"), knownvalue.Float64Exact(4)),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					f.checkPolicy(ep, "RequestsWaiting", 4),
					f.checkUserData(ep, `"metrics_publish"`, awsbackend.MetricsNamespace, "vllm:num_requests_waiting"),
					f.checkPublishGrant,
					// The group a policy of the user's own attaches to is the one exported.
					resource.TestCheckResourceAttrWith(endpointAddr, "aws.autoscaling_group_name", func(name string) error {
						out, err := f.autoscaling().DescribePolicies(context.Background(), &autoscaling.DescribePoliciesInput{AutoScalingGroupName: aws.String(name)})
						if err != nil || len(out.ScalingPolicies) != 1 || aws.ToString(out.ScalingPolicies[0].PolicyName) != "inferstack-target" {
							return fmt.Errorf("policies of aws.autoscaling_group_name %q: %+v, %v; want the endpoint's inferstack-target", name, out, err)
						}
						return nil
					}),
				),
			},
			{
				Config: f.endpointConfig(ep, 1, scaling(1, 3, `{ metric = "kv_cache_usage", value = 0.7 }`)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(endpointAddr, plancheck.ResourceActionUpdate),
				}},
				Check: f.checkPolicy(ep, "KVCacheUsage", 0.7),
			},
			{
				// Deleted outside Terraform: the refresh sees no target, the plan puts it back.
				PreConfig: func() {
					g, err := f.group(ep)
					if err == nil && g != nil {
						_, err = f.autoscaling().DeletePolicy(context.Background(), &autoscaling.DeletePolicyInput{
							AutoScalingGroupName: g.AutoScalingGroupName, PolicyName: aws.String("inferstack-target")})
					}
					if err != nil {
						t.Fatalf("deleting the policy behind Terraform's back: %v", err)
					}
				},
				Config: f.endpointConfig(ep, 1, scaling(1, 3, `{ metric = "kv_cache_usage", value = 0.7 }`)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(endpointAddr, plancheck.ResourceActionUpdate),
				}},
				Check: f.checkPolicy(ep, "KVCacheUsage", 0.7),
			},
			{
				Config: f.endpointConfig(ep, 1, scaling(1, 3, "")),
				Check:  f.checkPolicy(ep, "", 0),
			},
		},
	})
}
