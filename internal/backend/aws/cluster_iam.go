package aws

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// The nodes' identity: a role EC2 may assume, with AmazonSSMManagedInstanceCore (Session Manager
// and Run Command instead of SSH) and an inline policy that reads this cluster's secrets only
// (Secrets Manager names under "inferstack/<cluster>/" in the cluster's region), and an instance
// profile holding it. The same inline policy lets the nodes publish the endpoints' serving
// signals to CloudWatch, in MetricsNamespace only (autoscaling on them). Other policies a user
// attaches to the role are left alone.

const (
	ssmCorePolicy     = "AmazonSSMManagedInstanceCore"
	secretsPolicyName = "inferstack-cluster-secrets"
)

const ec2TrustPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// arnParts splits "arn:<partition>:<service>:<region>:<account>:<resource>".
func arnParts(arn string) (partition, account string) {
	p := strings.SplitN(arn, ":", 6)
	if len(p) < 6 {
		return "aws", ""
	}
	return p[1], p[4]
}

func secretsPolicy(roleARN, region string, n Names) string {
	partition, account := arnParts(roleARN)
	doc := map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Sid":      "ReadClusterSecrets",
			"Effect":   "Allow",
			"Action":   []string{"secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"},
			"Resource": fmt.Sprintf("arn:%s:secretsmanager:%s:%s:secret:%s*", partition, region, account, n.SecretsPrefix),
		}, map[string]any{
			// PutMetricData has no resource ARN: the namespace condition is its only scope.
			"Sid":       "PublishServingSignals",
			"Effect":    "Allow",
			"Action":    "cloudwatch:PutMetricData",
			"Resource":  "*",
			"Condition": map[string]any{"StringEquals": map[string]any{"cloudwatch:namespace": MetricsNamespace}},
		}},
	}
	b, _ := json.Marshal(doc)
	return string(b)
}

func sameJSON(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func iamTagMap(tags []iamtypes.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

func iamTags(m map[string]string) []iamtypes.Tag {
	out := make([]iamtypes.Tag, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, iamtypes.Tag{Key: aws.String(k), Value: aws.String(m[k])})
	}
	return out
}

// getRole is the role, or nil when there is none.
func getRole(ctx context.Context, client *iam.Client, name string) (*iamtypes.Role, error) {
	out, err := client.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	if err != nil {
		if hasCode(err, "NoSuchEntity") {
			return nil, nil
		}
		return nil, fmt.Errorf("reading IAM role %s: %w", name, err)
	}
	return out.Role, nil
}

// getInstanceProfile is the profile, or nil when there is none.
func getInstanceProfile(ctx context.Context, client *iam.Client, name string) (*iamtypes.InstanceProfile, error) {
	out, err := client.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(name)})
	if err != nil {
		if hasCode(err, "NoSuchEntity") {
			return nil, nil
		}
		return nil, fmt.Errorf("reading IAM instance profile %s: %w", name, err)
	}
	return out.InstanceProfile, nil
}

// ensureRole finds or creates the nodes' role and converges its policies and tags.
func ensureRole(ctx context.Context, client *iam.Client, spec ClusterSpec, region string, n Names, tags map[string]string) (*iamtypes.Role, error) {
	role, err := getRole(ctx, client, n.Role)
	if err != nil {
		return nil, err
	}
	created := false
	if role == nil {
		out, err := client.CreateRole(ctx, &iam.CreateRoleInput{
			RoleName:                 aws.String(n.Role),
			Path:                     aws.String(n.IAMPath),
			AssumeRolePolicyDocument: aws.String(ec2TrustPolicy),
			Description:              aws.String(fmt.Sprintf("inferstack cluster %s (%s): GPU nodes", spec.Name, region)),
			Tags:                     iamTags(tags),
		})
		switch {
		case err == nil:
			role, created = out.Role, true
		case hasCode(err, "EntityAlreadyExists"): // made by a concurrent or interrupted apply
			if role, err = getRole(ctx, client, n.Role); err != nil {
				return nil, err
			}
			if role == nil {
				return nil, fmt.Errorf("creating IAM role %s: it exists, but cannot be read", n.Role)
			}
		default:
			return nil, fmt.Errorf("creating IAM role %s: %w", n.Role, err)
		}
	}
	have := iamTagMap(role.Tags)
	if have[TagCluster] != spec.Name {
		if !created {
			return nil, errNotOurs("IAM role", n.Role, spec.Name)
		}
		have = tags // created with them; the answer need not repeat them
	}
	roleName := aws.ToString(role.RoleName)

	if set, remove := tagDiff(have, tags); len(set)+len(remove) > 0 {
		if len(remove) > 0 {
			if _, err := client.UntagRole(ctx, &iam.UntagRoleInput{RoleName: aws.String(roleName), TagKeys: remove}); err != nil {
				return nil, fmt.Errorf("untagging IAM role %s: %w", roleName, err)
			}
		}
		if len(set) > 0 {
			if _, err := client.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String(roleName), Tags: iamTags(set)}); err != nil {
				return nil, fmt.Errorf("tagging IAM role %s: %w", roleName, err)
			}
		}
	}

	partition, _ := arnParts(aws.ToString(role.Arn))
	core := fmt.Sprintf("arn:%s:iam::aws:policy/%s", partition, ssmCorePolicy)
	attached := false
	p := iam.NewListAttachedRolePoliciesPaginator(client, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(roleName)})
	for p.HasMorePages() && !attached {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing policies of IAM role %s: %w", roleName, err)
		}
		for _, ap := range page.AttachedPolicies {
			attached = attached || aws.ToString(ap.PolicyArn) == core
		}
	}
	if !attached {
		if _, err := client.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(roleName), PolicyArn: aws.String(core)}); err != nil {
			return nil, fmt.Errorf("attaching %s to IAM role %s: %w", ssmCorePolicy, roleName, err)
		}
	}

	want := secretsPolicy(aws.ToString(role.Arn), region, n)
	cur, err := client.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(roleName), PolicyName: aws.String(secretsPolicyName)})
	if err != nil && !hasCode(err, "NoSuchEntity") {
		return nil, fmt.Errorf("reading policy %s of IAM role %s: %w", secretsPolicyName, roleName, err)
	}
	same := false
	if err == nil {
		doc, uerr := url.QueryUnescape(aws.ToString(cur.PolicyDocument))
		same = uerr == nil && sameJSON(doc, want)
	}
	if !same {
		if _, err := client.PutRolePolicy(ctx, &iam.PutRolePolicyInput{
			RoleName: aws.String(roleName), PolicyName: aws.String(secretsPolicyName), PolicyDocument: aws.String(want),
		}); err != nil {
			return nil, fmt.Errorf("putting policy %s on IAM role %s: %w", secretsPolicyName, roleName, err)
		}
	}
	return role, nil
}

// ensureInstanceProfile finds or creates the profile, puts the role in it and converges its tags.
func ensureInstanceProfile(ctx context.Context, client *iam.Client, spec ClusterSpec, n Names, tags map[string]string) (*iamtypes.InstanceProfile, error) {
	ip, err := getInstanceProfile(ctx, client, n.InstanceProfile)
	if err != nil {
		return nil, err
	}
	created := false
	if ip == nil {
		out, err := client.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{
			InstanceProfileName: aws.String(n.InstanceProfile),
			Path:                aws.String(n.IAMPath),
			Tags:                iamTags(tags),
		})
		switch {
		case err == nil:
			ip, created = out.InstanceProfile, true
		case hasCode(err, "EntityAlreadyExists"):
			if ip, err = getInstanceProfile(ctx, client, n.InstanceProfile); err != nil {
				return nil, err
			}
			if ip == nil {
				return nil, fmt.Errorf("creating IAM instance profile %s: it exists, but cannot be read", n.InstanceProfile)
			}
		default:
			return nil, fmt.Errorf("creating IAM instance profile %s: %w", n.InstanceProfile, err)
		}
	}
	have := iamTagMap(ip.Tags)
	if have[TagCluster] != spec.Name {
		if !created {
			return nil, errNotOurs("IAM instance profile", n.InstanceProfile, spec.Name)
		}
		have = tags
	}
	name := aws.ToString(ip.InstanceProfileName)
	switch {
	case len(ip.Roles) == 0:
		if _, err := client.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{
			InstanceProfileName: aws.String(name), RoleName: aws.String(n.Role),
		}); err != nil && !hasCode(err, "LimitExceeded") {
			return nil, fmt.Errorf("adding IAM role %s to instance profile %s: %w", n.Role, name, err)
		}
	case aws.ToString(ip.Roles[0].RoleName) != n.Role:
		return nil, fmt.Errorf("IAM instance profile %s holds role %s, not %s: remove that role from it", name, aws.ToString(ip.Roles[0].RoleName), n.Role)
	}
	if set, remove := tagDiff(have, tags); len(set)+len(remove) > 0 {
		if len(remove) > 0 {
			if _, err := client.UntagInstanceProfile(ctx, &iam.UntagInstanceProfileInput{InstanceProfileName: aws.String(name), TagKeys: remove}); err != nil {
				return nil, fmt.Errorf("untagging IAM instance profile %s: %w", name, err)
			}
		}
		if len(set) > 0 {
			if _, err := client.TagInstanceProfile(ctx, &iam.TagInstanceProfileInput{InstanceProfileName: aws.String(name), Tags: iamTags(set)}); err != nil {
				return nil, fmt.Errorf("tagging IAM instance profile %s: %w", name, err)
			}
		}
	}
	return ip, nil
}

// deleteIAM removes the cluster's instance profile and role (each only when it is the cluster's)
// and waits until IAM no longer returns them.
func deleteIAM(ctx context.Context, client *iam.Client, cluster string, n Names) error {
	ip, err := getInstanceProfile(ctx, client, n.InstanceProfile)
	if err != nil {
		return err
	}
	if ip != nil && iamTagMap(ip.Tags)[TagCluster] == cluster {
		for _, r := range ip.Roles {
			if _, err := client.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{
				InstanceProfileName: ip.InstanceProfileName, RoleName: r.RoleName,
			}); err != nil && !hasCode(err, "NoSuchEntity") {
				return fmt.Errorf("removing IAM role %s from instance profile %s: %w", aws.ToString(r.RoleName), n.InstanceProfile, err)
			}
		}
		if _, err := client.DeleteInstanceProfile(ctx, &iam.DeleteInstanceProfileInput{InstanceProfileName: ip.InstanceProfileName}); err != nil && !hasCode(err, "NoSuchEntity") {
			return fmt.Errorf("deleting IAM instance profile %s: %w", n.InstanceProfile, err)
		}
	}

	role, err := getRole(ctx, client, n.Role)
	if err != nil {
		return err
	}
	if role != nil && iamTagMap(role.Tags)[TagCluster] == cluster {
		name := role.RoleName
		ips := iam.NewListInstanceProfilesForRolePaginator(client, &iam.ListInstanceProfilesForRoleInput{RoleName: name})
		for ips.HasMorePages() {
			page, err := ips.NextPage(ctx)
			if err != nil {
				return fmt.Errorf("listing instance profiles of IAM role %s: %w", n.Role, err)
			}
			for _, p := range page.InstanceProfiles {
				if _, err := client.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{
					InstanceProfileName: p.InstanceProfileName, RoleName: name,
				}); err != nil && !hasCode(err, "NoSuchEntity") {
					return fmt.Errorf("removing IAM role %s from instance profile %s: %w", n.Role, aws.ToString(p.InstanceProfileName), err)
				}
			}
		}
		aps := iam.NewListAttachedRolePoliciesPaginator(client, &iam.ListAttachedRolePoliciesInput{RoleName: name})
		for aps.HasMorePages() {
			page, err := aps.NextPage(ctx)
			if err != nil {
				return fmt.Errorf("listing policies of IAM role %s: %w", n.Role, err)
			}
			for _, ap := range page.AttachedPolicies {
				if _, err := client.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: name, PolicyArn: ap.PolicyArn}); err != nil && !hasCode(err, "NoSuchEntity") {
					return fmt.Errorf("detaching %s from IAM role %s: %w", aws.ToString(ap.PolicyArn), n.Role, err)
				}
			}
		}
		rps := iam.NewListRolePoliciesPaginator(client, &iam.ListRolePoliciesInput{RoleName: name})
		for rps.HasMorePages() {
			page, err := rps.NextPage(ctx)
			if err != nil {
				return fmt.Errorf("listing inline policies of IAM role %s: %w", n.Role, err)
			}
			for _, pn := range page.PolicyNames {
				if _, err := client.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: name, PolicyName: aws.String(pn)}); err != nil && !hasCode(err, "NoSuchEntity") {
					return fmt.Errorf("deleting policy %s of IAM role %s: %w", pn, n.Role, err)
				}
			}
		}
		if _, err := client.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: name}); err != nil && !hasCode(err, "NoSuchEntity") {
			return fmt.Errorf("deleting IAM role %s: %w", n.Role, err)
		}
	}

	return waitFor(ctx, "IAM role and instance profile "+n.Role+" to be deleted", func() (bool, error) {
		ip, err := getInstanceProfile(ctx, client, n.InstanceProfile)
		if err != nil || (ip != nil && iamTagMap(ip.Tags)[TagCluster] == cluster) {
			return false, err
		}
		role, err := getRole(ctx, client, n.Role)
		return err == nil && (role == nil || iamTagMap(role.Tags)[TagCluster] != cluster), err
	})
}
