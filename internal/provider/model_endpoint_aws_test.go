package provider_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest"
	standin "github.com/inferstack/terraform-provider-inferstack/internal/acctest/litellm"
	awsbackend "github.com/inferstack/terraform-provider-inferstack/internal/backend/aws"
	"github.com/inferstack/terraform-provider-inferstack/internal/vllm"
)

// Endpoints on an AWS cluster, against moto behind the proxy: each test makes its own cluster in
// a region of its own and asks moto directly what exists.

// awsEndpointConfig is f's cluster and one endpoint on it; extra is more HCL inside the endpoint.
func (f awsClusterFixture) endpointConfig(endpoint string, replicas int, extra string) string {
	return "provider \"inferstack\" {\n" + huggingFaceBlock(sharedHub().URL, "") +
		f.lab.AWSBlock(`    default_tags = { team = "ml-platform" }`) + "}\n" + f.clusterBlock() + fmt.Sprintf(`
resource "inferstack_model_endpoint" "test" {
  cluster_id = inferstack_inference_cluster.test.id
  name       = %q
  model      = { id = "Qwen/Qwen2.5-7B-Instruct" }
  replicas   = %d
  api_key    = %q
%s
}
`, endpoint, replicas, endpointAPIKey, extra)
}

func (f awsClusterFixture) clusterBlock() string {
	return fmt.Sprintf(`
resource "inferstack_inference_cluster" "test" {
  name = %q
  aws = {
    region        = %q
    subnet_ids    = [%q, %q]
    instance_type = "g5.xlarge"
    ami           = { id = %q }
    max_nodes     = 3
    tags          = { cost-center = "ml-42" }
  }
}
`, f.name, f.region, f.network.Subnets["a"], f.network.Subnets["b"], f.ami)
}

func (f awsClusterFixture) autoscaling() *autoscaling.Client {
	return autoscaling.NewFromConfig(f.lab.DirectConfig(f.region))
}

// group is the endpoint's Auto Scaling group in moto, or nil.
func (f awsClusterFixture) group(endpoint string) (*astypes.AutoScalingGroup, error) {
	out, err := f.autoscaling().DescribeAutoScalingGroups(context.Background(), &autoscaling.DescribeAutoScalingGroupsInput{
		Filters: []astypes.Filter{
			{Name: aws.String("tag:" + awsbackend.TagCluster), Values: []string{f.name}},
			{Name: aws.String("tag:" + awsbackend.TagEndpoint), Values: []string{endpoint}},
		},
	})
	if err != nil || len(out.AutoScalingGroups) == 0 {
		return nil, err
	}
	return &out.AutoScalingGroups[0], nil
}

// userData is the decoded user data of the endpoint's launch template at version, and the
// decoded files in it.
func (f awsClusterFixture) userData(endpoint string, version string) (string, error) {
	lts, err := f.lab.EC2(f.region).DescribeLaunchTemplates(context.Background(), &ec2.DescribeLaunchTemplatesInput{
		Filters: []ec2types.Filter{{Name: aws.String("tag:" + awsbackend.TagEndpoint), Values: []string{endpoint}}},
	})
	if err != nil {
		return "", fmt.Errorf("finding the endpoint's launch template: %w", err)
	}
	if len(lts.LaunchTemplates) != 1 {
		return "", fmt.Errorf("finding the endpoint's launch template: %d found, want 1", len(lts.LaunchTemplates))
	}
	out, err := f.lab.EC2(f.region).DescribeLaunchTemplateVersions(context.Background(), &ec2.DescribeLaunchTemplateVersionsInput{
		LaunchTemplateId: lts.LaunchTemplates[0].LaunchTemplateId, Versions: []string{version},
	})
	if err != nil {
		return "", err
	}
	if len(out.LaunchTemplateVersions) != 1 {
		return "", fmt.Errorf("%d launch template versions %s of %s", len(out.LaunchTemplateVersions), version, endpoint)
	}
	v := out.LaunchTemplateVersions[0]
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(v.LaunchTemplateData.UserData))
	if err != nil {
		return "", fmt.Errorf("user data is not base64: %w", err)
	}
	text, err := vllm.ReadUserData(raw) // gzip-compressed, as EC2 gets it
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(text, "#cloud-config\n") {
		return "", fmt.Errorf("user data is not #cloud-config: %.40q", text)
	}
	// Decode the gz+b64 files so assertions see what the node gets.
	for _, m := range regexp.MustCompile(`(?m)^    content: (\S+)$`).FindAllStringSubmatch(text, -1) {
		b, err := base64.StdEncoding.DecodeString(m[1])
		if err != nil {
			return "", err
		}
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return "", err
		}
		plain, err := io.ReadAll(zr)
		if err != nil {
			return "", err
		}
		text += "\n" + string(plain)
	}
	return text, nil
}

// checkUserData asserts the endpoint's latest template pins the model's commit, reads its
// secrets from Secrets Manager, and holds no secret value.
func (f awsClusterFixture) checkUserData(endpoint string, want ...string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		text, err := f.userData(endpoint, "$Latest")
		if err != nil {
			return err
		}
		if strings.Contains(text, endpointAPIKey) {
			return errors.New("the user data holds the API key")
		}
		rev := s.RootModule().Resources[endpointAddr].Primary.Attributes["resolved_revision"]
		for _, w := range append([]string{rev, `"source":"aws-secrets-manager"`, "inferstack/" + f.name + "/" + endpoint}, want...) {
			if !strings.Contains(text, w) && !strings.Contains(strings.ReplaceAll(text, " ", ""), w) {
				return fmt.Errorf("the user data does not hold %q", w)
			}
		}
		return nil
	}
}

// endpointLeftovers lists what moto still has of the test's endpoints and cluster.
func (f awsClusterFixture) endpointLeftovers() ([]string, error) {
	ctx := context.Background()
	left, err := f.leftovers()
	if err != nil {
		return nil, err
	}
	groups, err := f.autoscaling().DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{
		Filters: []astypes.Filter{{Name: aws.String("tag:" + awsbackend.TagCluster), Values: []string{f.name}}},
	})
	if err != nil {
		return nil, err
	}
	for _, g := range groups.AutoScalingGroups {
		left = append(left, "auto scaling group "+aws.ToString(g.AutoScalingGroupName))
	}
	inst, err := f.lab.EC2(f.region).DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:" + awsbackend.TagCluster), Values: []string{f.name}},
		{Name: aws.String("instance-state-name"), Values: []string{"pending", "running", "stopping", "stopped"}},
	}})
	if err != nil {
		return nil, err
	}
	for _, r := range inst.Reservations {
		for _, i := range r.Instances {
			left = append(left, "instance "+aws.ToString(i.InstanceId))
		}
	}
	tgs, err := elbv2.NewFromConfig(f.lab.DirectConfig(f.region)).DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{})
	if err != nil {
		return nil, err
	}
	for _, tg := range tgs.TargetGroups {
		left = append(left, "target group "+aws.ToString(tg.TargetGroupName))
	}
	secrets, err := secretsmanager.NewFromConfig(f.lab.DirectConfig(f.region)).ListSecrets(ctx, &secretsmanager.ListSecretsInput{})
	if err != nil {
		return nil, err
	}
	for _, s := range secrets.SecretList {
		if strings.HasPrefix(aws.ToString(s.Name), "inferstack/"+f.name+"/") {
			left = append(left, "secret "+aws.ToString(s.Name))
		}
	}
	return left, nil
}

func (f awsClusterFixture) checkEndpointDestroyed(*terraform.State) error {
	return noLeftovers(f.endpointLeftovers)
}

// checkGroup asserts the endpoint's group's desired/min/max and that its running instances carry
// the provider's default tags.
func (f awsClusterFixture) checkGroup(endpoint string, desired, min, max int32) resource.TestCheckFunc {
	return func(*terraform.State) error {
		g, err := f.group(endpoint)
		if err != nil || g == nil {
			return fmt.Errorf("the endpoint's Auto Scaling group is not in moto: %v", err)
		}
		if aws.ToInt32(g.DesiredCapacity) != desired || aws.ToInt32(g.MinSize) != min || aws.ToInt32(g.MaxSize) != max {
			return fmt.Errorf("group desired/min/max = %d/%d/%d, want %d/%d/%d", aws.ToInt32(g.DesiredCapacity),
				aws.ToInt32(g.MinSize), aws.ToInt32(g.MaxSize), desired, min, max)
		}
		if len(g.TargetGroupARNs) != 1 {
			return fmt.Errorf("group has %d target groups, want 1", len(g.TargetGroupARNs))
		}
		tags := map[string]string{}
		for _, t := range g.Tags {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
			if !aws.ToBool(t.PropagateAtLaunch) {
				return fmt.Errorf("tag %s is not propagated to instances", aws.ToString(t.Key))
			}
		}
		// The provider's default tag and the cluster's own tag, both on the endpoint's group.
		if tags["team"] != "ml-platform" || tags["cost-center"] != "ml-42" || tags[awsbackend.TagEndpoint] != endpoint {
			return fmt.Errorf("group tags %v lack team=ml-platform, cost-center=ml-42 or %s=%s", tags, awsbackend.TagEndpoint, endpoint)
		}
		return nil
	}
}

func TestAccModelEndpointAWS_basic(t *testing.T) {
	t.Parallel()
	f := newAWSClusterFixture(t, "us-east-2", "10.71.0.0/16")
	ep := acctest.TestName("ep")
	var firstVersion string

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		CheckDestroy:             f.checkEndpointDestroyed,
		Steps: []resource.TestStep{
			{
				Config: f.endpointConfig(ep, 1, ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(endpointAddr, tfjsonpath.New("id"),
						knownvalue.StringExact(awsbackend.ClusterID(f.region, f.name)+","+ep)),
					statecheck.ExpectKnownValue(endpointAddr, tfjsonpath.New("url"), knownvalue.StringRegexp(regexp.MustCompile(`^http://[^/]+\.elb\.[^/]+:8000/v1$`))),
					statecheck.ExpectKnownValue(endpointAddr, tfjsonpath.New("status"), knownvalue.StringExact("ready")),
					statecheck.ExpectKnownValue(endpointAddr, tfjsonpath.New("resolved_revision"), knownvalue.StringRegexp(regexp.MustCompile(`^[0-9a-f]{40}$`))),
					// The aws block, not configured, still carries the group for policies of the user's own.
					statecheck.ExpectKnownValue(endpointAddr, tfjsonpath.New("aws"), knownvalue.ObjectExact(map[string]knownvalue.Check{
						"port": knownvalue.Null(), "health_check_grace_seconds": knownvalue.Null(), "min_healthy_percentage": knownvalue.Null(),
						"autoscaling_group_name": knownvalue.StringExact("inferstack-" + f.name + "." + ep),
						"autoscaling_group_arn":  knownvalue.StringRegexp(groupARN(f.region, "inferstack-"+f.name+"."+ep)),
					})),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					f.checkGroup(ep, 1, 1, 1),
					f.checkGroupARN(ep),
					f.checkUserData(ep),
					func(*terraform.State) error {
						g, err := f.group(ep)
						if err != nil || g == nil {
							return fmt.Errorf("no group: %v", err)
						}
						firstVersion = launchTemplateVersion(g)
						return nil
					},
				),
			},
			{
				ResourceName: endpointAddr,
				ImportState:  true,
				ImportStateIdFunc: func(s *terraform.State) (string, error) {
					return s.RootModule().Resources[endpointAddr].Primary.ID, nil
				},
				ImportStateVerify: true,
				// The key cannot be read back into configuration; the rest comes from AWS and the user data.
				ImportStateVerifyIgnore: []string{"api_key", "timeouts", "status", "model.revision"}, // import pins the revision to its commit
			},
			{
				// replicas is the group's desired count: in place, no new template version.
				Config: f.endpointConfig(ep, 2, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(endpointAddr, plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction(awsClusterAddr, plancheck.ResourceActionNoop),
					// The group's name and ARN stay known in an update's plan.
					plancheck.ExpectKnownValue(endpointAddr, tfjsonpath.New("aws").AtMapKey("autoscaling_group_name"),
						knownvalue.StringExact("inferstack-"+f.name+"."+ep)),
					plancheck.ExpectKnownValue(endpointAddr, tfjsonpath.New("aws").AtMapKey("autoscaling_group_arn"),
						knownvalue.StringRegexp(groupARN(f.region, "inferstack-"+f.name+"."+ep))),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(
					f.checkGroup(ep, 2, 2, 2),
					func(*terraform.State) error {
						g, _ := f.group(ep)
						if v := launchTemplateVersion(g); v != firstVersion {
							return fmt.Errorf("a replicas change made launch template version %s (was %s)", v, firstVersion)
						}
						return nil
					},
				),
			},
			{
				// An engine change rolls: a new template version, and the group's instances replaced.
				Config: f.endpointConfig(ep, 2, `  engine = { max_model_len = 8192 }
  autoscaling = { min = 1, max = 3 }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(endpointAddr, plancheck.ResourceActionUpdate),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(
					f.checkGroup(ep, 2, 1, 3),
					f.checkUserData(ep, "--max-model-len"),
					func(*terraform.State) error {
						g, _ := f.group(ep)
						if v := launchTemplateVersion(g); v == firstVersion {
							return fmt.Errorf("an engine change kept launch template version %s", v)
						}
						for _, i := range g.Instances {
							if i.LaunchTemplate != nil && aws.ToString(i.LaunchTemplate.Version) == firstVersion {
								return fmt.Errorf("instance %s still runs template version %s after the refresh", aws.ToString(i.InstanceId), firstVersion)
							}
						}
						return nil
					},
				),
			},
			{
				// The block written: its settings as configured, the group's name and ARN beside them
				// and known in the plan; the grace is the group's, in place.
				Config: f.endpointConfig(ep, 2, `  engine = { max_model_len = 8192 }
  autoscaling = { min = 1, max = 3 }
  aws = { health_check_grace_seconds = 900 }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(endpointAddr, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(endpointAddr, tfjsonpath.New("aws").AtMapKey("autoscaling_group_arn"),
						knownvalue.StringRegexp(groupARN(f.region, "inferstack-"+f.name+"."+ep))),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(endpointAddr, tfjsonpath.New("aws"), knownvalue.ObjectExact(map[string]knownvalue.Check{
						"port": knownvalue.Null(), "health_check_grace_seconds": knownvalue.Int64Exact(900), "min_healthy_percentage": knownvalue.Null(),
						"autoscaling_group_name": knownvalue.StringExact("inferstack-" + f.name + "." + ep),
						"autoscaling_group_arn":  knownvalue.StringRegexp(groupARN(f.region, "inferstack-"+f.name+"."+ep)),
					})),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					f.checkGroupARN(ep),
					func(*terraform.State) error {
						g, err := f.group(ep)
						if err != nil || g == nil || aws.ToInt32(g.HealthCheckGracePeriod) != 900 {
							return fmt.Errorf("the group's health check grace: %+v, %v; want 900", g, err)
						}
						return nil
					},
				),
			},
		},
	})
}

// groupARN matches the ARN of Auto Scaling group name in region.
func groupARN(region, name string) *regexp.Regexp {
	return regexp.MustCompile(`^arn:aws:autoscaling:` + regexp.QuoteMeta(region) + `:[0-9]{12}:autoScalingGroup:[^:]+:autoScalingGroupName/` +
		regexp.QuoteMeta(name) + `$`)
}

// checkGroupARN asserts that aws.autoscaling_group_arn is the ARN of the endpoint's group in moto.
func (f awsClusterFixture) checkGroupARN(endpoint string) resource.TestCheckFunc {
	return resource.TestCheckResourceAttrWith(endpointAddr, "aws.autoscaling_group_arn", func(v string) error {
		g, err := f.group(endpoint)
		if err != nil || g == nil {
			return fmt.Errorf("no group: %v", err)
		}
		if want := aws.ToString(g.AutoScalingGroupARN); v != want {
			return fmt.Errorf("aws.autoscaling_group_arn = %q, want the group's %q", v, want)
		}
		return nil
	})
}

// launchTemplateVersion is the template version the group launches.
func launchTemplateVersion(g *astypes.AutoScalingGroup) string {
	if g == nil {
		return ""
	}
	if g.MixedInstancesPolicy != nil && g.MixedInstancesPolicy.LaunchTemplate != nil && g.MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification != nil {
		return aws.ToString(g.MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification.Version)
	}
	if g.LaunchTemplate != nil {
		return aws.ToString(g.LaunchTemplate.Version)
	}
	return ""
}

// TestAccModelEndpointAWS_disappears: the group deleted behind Terraform's back is planned for
// creation again, and the apply converges, adopting the listener and target group still there.
func TestAccModelEndpointAWS_disappears(t *testing.T) {
	t.Parallel()
	f := newAWSClusterFixture(t, "me-central-1", "10.72.0.0/16")
	ep := acctest.TestName("ep")

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		CheckDestroy:             f.checkEndpointDestroyed,
		Steps: []resource.TestStep{
			{Config: f.endpointConfig(ep, 1, "")},
			{
				PreConfig: func() {
					g, err := f.group(ep)
					if err != nil || g == nil {
						t.Fatalf("no group to delete: %v", err)
					}
					if _, err := f.autoscaling().DeleteAutoScalingGroup(context.Background(), &autoscaling.DeleteAutoScalingGroupInput{
						AutoScalingGroupName: g.AutoScalingGroupName, ForceDelete: aws.Bool(true),
					}); err != nil {
						t.Fatalf("deleting the group behind Terraform's back: %v", err)
					}
				},
				Config: f.endpointConfig(ep, 1, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(endpointAddr, plancheck.ResourceActionCreate),
				}},
				Check: f.checkGroup(ep, 1, 1, 1),
			},
		},
	})
}

// TestAccModelEndpointAWS_route: a route to an endpoint on AWS has one gateway deployment, at the
// load balancer's URL, with the key from Secrets Manager (never in the route's state).
func TestAccModelEndpointAWS_route(t *testing.T) {
	t.Parallel()
	f := newAWSClusterFixture(t, "ap-south-1", "10.73.0.0/16")
	gw := standin.Start(gatewayMasterKey)
	t.Cleanup(gw.Close)
	ep := acctest.TestName("ep")
	route := acctest.TestName("route")
	config := "provider \"inferstack\" {\n" + huggingFaceBlock(sharedHub().URL, "") +
		f.lab.AWSBlock(`    default_tags = { team = "ml-platform" }`) +
		fmt.Sprintf("  gateway {\n    url        = %q\n    master_key = %q\n  }\n}\n", gw.URL, gatewayMasterKey) +
		f.clusterBlock() + fmt.Sprintf(`
resource "inferstack_model_endpoint" "test" {
  cluster_id = inferstack_inference_cluster.test.id
  name       = %q
  model      = { id = "Qwen/Qwen2.5-7B-Instruct" }
  api_key    = %q
}

resource "inferstack_api_route" "test" {
  name        = %q
  endpoint_id = inferstack_model_endpoint.test.id
}
`, ep, endpointAPIKey, route)

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		CheckDestroy:             resource.ComposeAggregateTestCheckFunc(f.checkEndpointDestroyed, checkAPIRoutesDestroyed(gw)),
		Steps: []resource.TestStep{{
			Config: config,
			Check:  checkEndpointRoute(gw, 1),
		}},
	})
}

// TestAccModelEndpointAWS_moveCluster: an endpoint whose cluster_id changes to another AWS cluster
// (same backend, same region) is replaced, not updated: afterwards the first cluster holds nothing
// of it and the second runs it.
func TestAccModelEndpointAWS_moveCluster(t *testing.T) {
	t.Parallel()
	f := newAWSClusterFixture(t, "eu-central-1", "10.74.0.0/16")
	g := f
	g.name = acctest.TestName("awsb")
	ep := acctest.TestName("ep")
	config := func(target string) string {
		c := f.endpointConfig(ep, 1, "")
		second := strings.Replace(g.clusterBlock(), `"inferstack_inference_cluster" "test"`, `"inferstack_inference_cluster" "second"`, 1)
		return strings.Replace(c, "cluster_id = inferstack_inference_cluster.test.id", "cluster_id = inferstack_inference_cluster."+target+".id", 1) + second
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		CheckDestroy: func(s *terraform.State) error {
			if err := f.checkEndpointDestroyed(s); err != nil {
				return err
			}
			return g.checkEndpointDestroyed(s)
		},
		Steps: []resource.TestStep{
			{
				Config: config("test"),
				Check:  f.checkGroup(ep, 1, 1, 1),
			},
			{
				Config: config("second"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(endpointAddr, plancheck.ResourceActionDestroyBeforeCreate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(endpointAddr, tfjsonpath.New("cluster_id"),
						knownvalue.StringExact(awsbackend.ClusterID(f.region, g.name))),
				},
				Check: resource.ComposeTestCheckFunc(
					g.checkGroup(ep, 1, 1, 1),
					func(*terraform.State) error {
						if grp, err := f.group(ep); err != nil || grp != nil {
							return fmt.Errorf("the first cluster still holds the endpoint's group %v (%v)", grp, err)
						}
						ctx := context.Background()
						lts, err := f.lab.EC2(f.region).DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{
							Filters: []ec2types.Filter{{Name: aws.String("tag:" + awsbackend.TagCluster), Values: []string{f.name}},
								{Name: aws.String("tag:" + awsbackend.TagEndpoint), Values: []string{ep}}},
						})
						if err != nil || len(lts.LaunchTemplates) != 0 {
							return fmt.Errorf("the first cluster still holds the endpoint's launch template (%v)", err)
						}
						sec, err := secretsmanager.NewFromConfig(f.lab.DirectConfig(f.region)).ListSecrets(ctx, &secretsmanager.ListSecretsInput{})
						if err != nil {
							return err
						}
						for _, x := range sec.SecretList {
							if strings.HasPrefix(aws.ToString(x.Name), "inferstack/"+f.name+"/") {
								return fmt.Errorf("the first cluster still holds secret %s", aws.ToString(x.Name))
							}
						}
						return nil
					},
				),
			},
		},
	})
}
