package aws

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// An endpoint's launch template copies the default version of the cluster's base template and
// adds the endpoint's user data and tags; each version's description names the base version it
// came from. Its newest version is made the default too, so whatever launches it without a
// version gets what the group gets.
//
// Nodes converge at boot, so what a node runs changes only by replacing it: when the group's
// nodes run a version whose node data (everything but tags) differs from the group's version, an
// instance refresh replaces them. A change of tags alone makes a new version for the nodes still
// to come, and replaces nothing.

// endpointTemplate is the endpoint's launch template as EnsureEndpoint left it.
type endpointTemplate struct {
	id      string
	version int64        // the default version, which the group launches
	want    nodeTemplate // its data
}

// withoutTags is t less its tags: what a node runs.
func (t nodeTemplate) withoutTags() nodeTemplate {
	t.Tags = nil
	return t
}

// ensureEndpointTemplate finds or creates the endpoint's template and makes its default version
// the cluster's base default version plus userData and tags.
func ensureEndpointTemplate(ctx context.Context, client *ec2.Client, s EndpointSpec, c *Cluster, name, userData string, tags map[string]string) (*endpointTemplate, error) {
	base, err := defaultVersion(ctx, client, c.LaunchTemplateID)
	if err != nil {
		return nil, err
	}
	want := readNodeTemplate(base.LaunchTemplateData)
	want.Tags, want.UserData = nodeTags(tags), userData
	desc := baseRef{ID: c.LaunchTemplateID, Version: aws.ToInt64(base.VersionNumber)}.description(s.Name)

	cur, err := findLaunchTemplate(ctx, client, name)
	if err != nil {
		return nil, err
	}
	if cur == nil {
		out, err := createLaunchTemplate(ctx, client, name, want, desc, tags)
		if err != nil {
			return nil, err
		}
		if out != nil {
			return &endpointTemplate{id: aws.ToString(out.LaunchTemplate.LaunchTemplateId), version: 1, want: want}, nil
		}
		if cur, err = findLaunchTemplate(ctx, client, name); err != nil || cur == nil {
			return nil, fmt.Errorf("creating launch template %s: the name is taken, but it cannot be read (%v)", name, err)
		}
	}
	if !owned(cur.tags, s.Cluster, s.Name) {
		return nil, errNotEndpoints("launch template", name, s.Cluster, s.Name)
	}
	version, err := convergeVersion(ctx, client, cur, want, desc)
	if err != nil {
		return nil, err
	}
	if err := reconcileEC2Tags(ctx, client, cur.id(), cur.tags, tags); err != nil {
		return nil, err
	}
	return &endpointTemplate{id: cur.id(), version: version, want: want}, nil
}

// rollNodes starts an instance refresh when nodes of the group (prev, as it was before this
// apply) run other node data than the version the group now launches.
func rollNodes(ctx context.Context, ec2c *ec2.Client, asc *autoscaling.Client, s EndpointSpec, group string, lt *endpointTemplate, prev *astypes.AutoScalingGroup) error {
	if prev == nil || len(prev.Instances) == 0 {
		return nil
	}
	stale, moved, err := staleNodes(ctx, ec2c, lt, *prev)
	if err != nil || !stale {
		return err
	}
	return startRefresh(ctx, asc, group, s, moved)
}

// staleNodes reports whether the group's nodes, or the version the group launched until now, run
// other node data than lt's version (stale), and whether the group itself just left such a
// version (moved: a refresh running for it is out of date). Versions that no longer exist count
// as stale.
func staleNodes(ctx context.Context, client *ec2.Client, lt *endpointTemplate, g astypes.AutoScalingGroup) (stale, moved bool, err error) {
	cur := strconv.FormatInt(lt.version, 10)
	prevID, prevVersion := launchSpec(g)
	if prevID != lt.id {
		return true, true, nil
	}
	check := map[string]bool{}
	if prevVersion != cur {
		check[prevVersion] = true
	}
	for _, in := range g.Instances {
		if in.LaunchTemplate == nil || aws.ToString(in.LaunchTemplate.LaunchTemplateId) != lt.id {
			return true, prevVersion != cur, nil
		}
		if v := aws.ToString(in.LaunchTemplate.Version); v != cur {
			check[v] = true
		}
	}
	if len(check) == 0 {
		return false, false, nil
	}
	vs, err := templateVersions(ctx, client, lt.id, slices.Sorted(maps.Keys(check))...)
	if err != nil && !hasCode(err, "InvalidLaunchTemplateId.VersionNotFound") {
		return false, false, err
	}
	same := map[string]bool{}
	for _, v := range vs {
		if readNodeTemplate(v.LaunchTemplateData).withoutTags().equal(lt.want.withoutTags()) {
			same[strconv.FormatInt(aws.ToInt64(v.VersionNumber), 10)] = true
		}
	}
	for v := range check {
		if !same[v] {
			stale, moved = true, moved || v == prevVersion
		}
	}
	return stale, moved, nil
}
