package aws

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// The cluster's base launch template, "inferstack-<cluster>", is how every node of the cluster
// launches, whatever endpoint it serves: the AMI the preflight resolved, the instance type,
// IMDSv2 only with a hop limit of 1 (only the host reaches the metadata service), the instance
// profile, the nodes' security group on a
// network interface without a public IP, an encrypted gp3 root volume on the AMI's root device,
// detailed monitoring, the capacity reservation when one is named, and the cluster's tags on the
// instances, volumes and network interfaces launched from it. It has no user data: each
// endpoint's own template copies its default version and adds its node script (endpoint_lt.go).
// A change makes a new version, made the default; an endpoint moves to it on its next apply.
//
// The template's own tags also carry the cluster settings an endpoint needs that AWS holds
// nowhere else (the nodes' subnets, the on-demand/spot split, the node budget), so
// FindCluster(region, name) alone is enough to build an endpoint.

// Tags on the base launch template that hold cluster settings.
const (
	// TagSubnets holds the nodes' subnet ids, comma-joined; past a tag value's 256 characters the
	// list goes on in "inferstack:subnets:2", "inferstack:subnets:3", ...
	TagSubnets        = "inferstack:subnets"
	TagOnDemandBase   = "inferstack:on-demand-base"
	TagSpotPercentage = "inferstack:spot-percentage"
	TagMaxNodes       = "inferstack:max-nodes"
	// TagCapacityReservation holds the On-Demand Capacity Reservation the endpoints' groups
	// target (on the group, where only on-demand nodes use it); absent without one.
	TagCapacityReservation = "inferstack:capacity-reservation"
)

// imdsHopLimit keeps the instance role's credentials on the host: the node script fetches the
// secrets there and hands them to vLLM in a root-only env file, so the container needs no role,
// and a limit of 1 stops a request from behind the docker bridge (one hop more) reaching IMDS.
const imdsHopLimit = 1

// nodeTagTypes are the resource types a node template tags at launch.
var nodeTagTypes = []ec2types.ResourceType{ec2types.ResourceTypeInstance, ec2types.ResourceTypeVolume, ec2types.ResourceTypeNetworkInterface}

// nodeTemplate is the part of a launch template's data this package sets, in a form that compares
// the request it sends with the response it reads back.
type nodeTemplate struct {
	ImageID               string
	InstanceType          string
	InstanceProfileARN    string
	SecurityGroupIDs      []string // sorted
	PublicIP              bool
	RootDevice            string
	RootGiB               int64 // 0: the AMI's root snapshot size
	RootType              string
	RootEncrypted         bool
	HTTPTokens            string
	HopLimit              int32
	Monitoring            bool
	CapacityReservationID string
	Tags                  map[string]map[string]string // resource type -> tags at launch
	UserData              string                       // base64; "" in the cluster's base
}

// baseTemplate is the cluster's base template as spec and the preflight say.
func baseTemplate(spec ClusterSpec, pf *Preflight, sgID, profileARN string, tags map[string]string) nodeTemplate {
	return nodeTemplate{
		ImageID: pf.ImageID, InstanceType: pf.InstanceType, InstanceProfileARN: profileARN,
		SecurityGroupIDs: []string{sgID}, RootDevice: pf.RootDeviceName, RootGiB: spec.RootVolumeGiB,
		RootType: string(ec2types.VolumeTypeGp3), RootEncrypted: true,
		HTTPTokens: string(ec2types.LaunchTemplateHttpTokensStateRequired), HopLimit: imdsHopLimit, Monitoring: true,
		Tags: nodeTags(tags),
	}
}

// nodeTags puts tags on every resource type a node template tags.
func nodeTags(tags map[string]string) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, rt := range nodeTagTypes {
		out[string(rt)] = tags
	}
	return out
}

func (t nodeTemplate) requestData() *ec2types.RequestLaunchTemplateData {
	d := &ec2types.RequestLaunchTemplateData{
		ImageId:      aws.String(t.ImageID),
		InstanceType: ec2types.InstanceType(t.InstanceType),
		MetadataOptions: &ec2types.LaunchTemplateInstanceMetadataOptionsRequest{
			HttpEndpoint:            ec2types.LaunchTemplateInstanceMetadataEndpointStateEnabled,
			HttpTokens:              ec2types.LaunchTemplateHttpTokensState(t.HTTPTokens),
			HttpPutResponseHopLimit: aws.Int32(t.HopLimit),
		},
		IamInstanceProfile: &ec2types.LaunchTemplateIamInstanceProfileSpecificationRequest{Arn: aws.String(t.InstanceProfileARN)},
		// The security group goes on the interface: EC2 refuses both an interface and
		// instance-level groups in one launch.
		NetworkInterfaces: []ec2types.LaunchTemplateInstanceNetworkInterfaceSpecificationRequest{{
			DeviceIndex: aws.Int32(0), AssociatePublicIpAddress: aws.Bool(t.PublicIP), DeleteOnTermination: aws.Bool(true),
			Groups: t.SecurityGroupIDs,
		}},
		Monitoring: &ec2types.LaunchTemplatesMonitoringRequest{Enabled: aws.Bool(t.Monitoring)},
	}
	if t.RootDevice != "" {
		ebs := &ec2types.LaunchTemplateEbsBlockDeviceRequest{
			VolumeType: ec2types.VolumeType(t.RootType), Encrypted: aws.Bool(t.RootEncrypted), DeleteOnTermination: aws.Bool(true),
		}
		if t.RootGiB > 0 {
			ebs.VolumeSize = aws.Int32(int32(t.RootGiB))
		}
		d.BlockDeviceMappings = []ec2types.LaunchTemplateBlockDeviceMappingRequest{{DeviceName: aws.String(t.RootDevice), Ebs: ebs}}
	}
	if t.CapacityReservationID != "" {
		d.CapacityReservationSpecification = &ec2types.LaunchTemplateCapacityReservationSpecificationRequest{
			CapacityReservationTarget: &ec2types.CapacityReservationTarget{CapacityReservationId: aws.String(t.CapacityReservationID)},
		}
	}
	for _, rt := range nodeTagTypes {
		if tags := t.Tags[string(rt)]; len(tags) > 0 {
			d.TagSpecifications = append(d.TagSpecifications, ec2types.LaunchTemplateTagSpecificationRequest{ResourceType: rt, Tags: ec2Tags(tags)})
		}
	}
	if t.UserData != "" {
		d.UserData = aws.String(t.UserData)
	}
	return d
}

// readNodeTemplate is what a template version's data says, in nodeTemplate's terms.
func readNodeTemplate(d *ec2types.ResponseLaunchTemplateData) nodeTemplate {
	var t nodeTemplate
	if d == nil {
		return t
	}
	t.ImageID, t.InstanceType, t.UserData = aws.ToString(d.ImageId), string(d.InstanceType), aws.ToString(d.UserData)
	if m := d.MetadataOptions; m != nil {
		t.HTTPTokens, t.HopLimit = string(m.HttpTokens), aws.ToInt32(m.HttpPutResponseHopLimit)
	}
	if p := d.IamInstanceProfile; p != nil {
		t.InstanceProfileARN = aws.ToString(p.Arn)
	}
	for _, ni := range d.NetworkInterfaces {
		if aws.ToInt32(ni.DeviceIndex) == 0 {
			t.PublicIP = aws.ToBool(ni.AssociatePublicIpAddress)
			t.SecurityGroupIDs = slices.Sorted(slices.Values(ni.Groups))
		}
	}
	if len(d.BlockDeviceMappings) > 0 {
		m := d.BlockDeviceMappings[0]
		t.RootDevice = aws.ToString(m.DeviceName)
		if m.Ebs != nil {
			t.RootGiB, t.RootType, t.RootEncrypted = int64(aws.ToInt32(m.Ebs.VolumeSize)), string(m.Ebs.VolumeType), aws.ToBool(m.Ebs.Encrypted)
		}
	}
	t.Monitoring = d.Monitoring != nil && aws.ToBool(d.Monitoring.Enabled)
	if c := d.CapacityReservationSpecification; c != nil && c.CapacityReservationTarget != nil {
		t.CapacityReservationID = aws.ToString(c.CapacityReservationTarget.CapacityReservationId)
	}
	for _, ts := range d.TagSpecifications {
		if slices.Contains(nodeTagTypes, ts.ResourceType) && len(ts.Tags) > 0 {
			if t.Tags == nil {
				t.Tags = map[string]map[string]string{}
			}
			t.Tags[string(ts.ResourceType)] = ec2TagMap(ts.Tags)
		}
	}
	return t
}

func (t nodeTemplate) equal(o nodeTemplate) bool {
	if len(t.SecurityGroupIDs) == 0 && len(o.SecurityGroupIDs) == 0 {
		t.SecurityGroupIDs, o.SecurityGroupIDs = nil, nil
	}
	if len(t.Tags) == 0 && len(o.Tags) == 0 {
		t.Tags, o.Tags = nil, nil
	}
	return reflect.DeepEqual(t, o)
}

// settingsTags are the cluster settings the base template carries as tags.
func settingsTags(spec ClusterSpec, pf *Preflight) map[string]string {
	out := subnetTags(spec.SubnetIDs)
	out[TagOnDemandBase] = strconv.FormatInt(spec.Capacity.OnDemandBase, 10)
	out[TagSpotPercentage] = strconv.FormatInt(spec.Capacity.SpotPercentage, 10)
	out[TagMaxNodes] = strconv.FormatInt(pf.MaxNodes, 10)
	if id := spec.Capacity.CapacityReservationID; id != "" {
		out[TagCapacityReservation] = id
	}
	return out
}

// subnetTags splits the unique subnet ids over TagSubnets, "TagSubnets:2", ... so that no value
// passes 256 characters.
func subnetTags(ids []string) map[string]string {
	out := map[string]string{}
	var seen []string
	key, val := TagSubnets, ""
	for _, id := range ids {
		if slices.Contains(seen, id) {
			continue
		}
		seen = append(seen, id)
		if val != "" && len(val)+1+len(id) > 256 {
			out[key] = val
			key, val = fmt.Sprintf("%s:%d", TagSubnets, len(out)+1), ""
		}
		if val != "" {
			val += ","
		}
		val += id
	}
	if val != "" {
		out[key] = val
	}
	return out
}

// subnetsFromTags reads what subnetTags wrote.
func subnetsFromTags(tags map[string]string) []string {
	var out []string
	for i := 1; ; i++ {
		key := TagSubnets
		if i > 1 {
			key = fmt.Sprintf("%s:%d", TagSubnets, i)
		}
		v, ok := tags[key]
		if !ok {
			return out
		}
		out = append(out, strings.Split(v, ",")...)
	}
}

// readSettings fills the cluster's settings from its base template's tags.
func readSettings(c *Cluster, tags map[string]string) {
	c.SubnetIDs = subnetsFromTags(tags)
	c.Capacity.OnDemandBase, _ = strconv.ParseInt(tags[TagOnDemandBase], 10, 64)
	c.Capacity.SpotPercentage, _ = strconv.ParseInt(tags[TagSpotPercentage], 10, 64)
	c.MaxNodes, _ = strconv.ParseInt(tags[TagMaxNodes], 10, 64)
	c.Capacity.CapacityReservationID = tags[TagCapacityReservation]
}

// launchTemplate is a launch template with its tags.
type launchTemplate struct {
	lt   ec2types.LaunchTemplate
	tags map[string]string
}

func (l *launchTemplate) id() string { return aws.ToString(l.lt.LaunchTemplateId) }

// owned reports whether tags mark an object as the cluster's (endpoint "") or as the endpoint's.
func owned(tags map[string]string, cluster, endpoint string) bool {
	return tags[TagCluster] == cluster && tags[TagEndpoint] == endpoint
}

// findLaunchTemplate is the template called name, whoever's it is (nil when there is none): a
// name filter, not LaunchTemplateNames, which fails when the name is unknown.
func findLaunchTemplate(ctx context.Context, client *ec2.Client, name string) (*launchTemplate, error) {
	out, err := client.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{
		Filters: []ec2types.Filter{{Name: aws.String("launch-template-name"), Values: []string{name}}},
	})
	if err != nil {
		return nil, fmt.Errorf("finding launch template %s: %w", name, err)
	}
	for _, lt := range out.LaunchTemplates {
		if aws.ToString(lt.LaunchTemplateName) == name {
			return &launchTemplate{lt: lt, tags: ec2TagMap(lt.Tags)}, nil
		}
	}
	return nil, nil
}

// templateVersions reads versions ("$Default", "$Latest", "3") of template id; unknown numbers are
// left out.
func templateVersions(ctx context.Context, client *ec2.Client, id string, versions ...string) ([]ec2types.LaunchTemplateVersion, error) {
	out, err := client.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{
		LaunchTemplateId: aws.String(id), Versions: versions,
	})
	if err != nil {
		return nil, fmt.Errorf("reading versions %s of launch template %s: %w", strings.Join(versions, ", "), id, err)
	}
	return out.LaunchTemplateVersions, nil
}

// defaultVersion is the default version of template id.
func defaultVersion(ctx context.Context, client *ec2.Client, id string) (*ec2types.LaunchTemplateVersion, error) {
	vs, err := templateVersions(ctx, client, id, "$Default")
	if err != nil {
		return nil, err
	}
	for i := range vs {
		if aws.ToBool(vs[i].DefaultVersion) {
			return &vs[i], nil
		}
	}
	if len(vs) > 0 {
		return &vs[0], nil
	}
	return nil, fmt.Errorf("launch template %s has no default version", id)
}

// createLaunchTemplate makes template name with want as version 1; a template of that name made
// meanwhile is returned (nil, nil) for the caller to find.
func createLaunchTemplate(ctx context.Context, client *ec2.Client, name string, want nodeTemplate, desc string, tags map[string]string) (*ec2.CreateLaunchTemplateOutput, error) {
	out, err := client.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String(name),
		LaunchTemplateData: want.requestData(),
		VersionDescription: aws.String(desc),
		TagSpecifications:  []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeLaunchTemplate, Tags: ec2Tags(tags)}},
	})
	if err != nil {
		if hasCode(err, "InvalidLaunchTemplateName.AlreadyExistsException") {
			return nil, nil
		}
		return nil, fmt.Errorf("creating launch template %s: %w", name, err)
	}
	return out, nil
}

// convergeVersion makes want the default version of template l: nothing when the default already
// is, the latest version made default when that one is (an earlier run stopped in between), and
// otherwise a new version. It returns the default version afterwards.
func convergeVersion(ctx context.Context, client *ec2.Client, l *launchTemplate, want nodeTemplate, desc string) (int64, error) {
	vs, err := templateVersions(ctx, client, l.id(), "$Default", "$Latest")
	if err != nil {
		return 0, err
	}
	name := aws.ToString(l.lt.LaunchTemplateName)
	for _, v := range vs { // the default first
		if !aws.ToBool(v.DefaultVersion) || !readNodeTemplate(v.LaunchTemplateData).equal(want) || aws.ToString(v.VersionDescription) != desc {
			continue
		}
		return aws.ToInt64(v.VersionNumber), nil
	}
	number := int64(0)
	for _, v := range vs {
		if !aws.ToBool(v.DefaultVersion) && readNodeTemplate(v.LaunchTemplateData).equal(want) && aws.ToString(v.VersionDescription) == desc {
			number = aws.ToInt64(v.VersionNumber)
		}
	}
	if number == 0 {
		out, err := client.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{
			LaunchTemplateId: aws.String(l.id()), LaunchTemplateData: want.requestData(), VersionDescription: aws.String(desc),
		})
		if err != nil {
			return 0, fmt.Errorf("creating a version of launch template %s: %w", name, err)
		}
		number = aws.ToInt64(out.LaunchTemplateVersion.VersionNumber)
	}
	if _, err := client.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{
		LaunchTemplateId: aws.String(l.id()), DefaultVersion: aws.String(strconv.FormatInt(number, 10)),
	}); err != nil {
		return 0, fmt.Errorf("making version %d the default of launch template %s: %w", number, name, err)
	}
	return number, nil
}

// ensureClusterTemplate finds or creates the cluster's base template and converges its default
// version to want and its own tags to tags plus the settings.
func ensureClusterTemplate(ctx context.Context, client *ec2.Client, cluster string, n Names, want nodeTemplate, tags map[string]string) error {
	desc := "inferstack cluster " + cluster + ": the base of its endpoints' launch templates"
	cur, err := findLaunchTemplate(ctx, client, n.LaunchTemplate)
	if err != nil {
		return err
	}
	if cur == nil {
		out, err := createLaunchTemplate(ctx, client, n.LaunchTemplate, want, desc, tags)
		if err != nil || out != nil {
			return err
		}
		if cur, err = findLaunchTemplate(ctx, client, n.LaunchTemplate); err != nil || cur == nil {
			return fmt.Errorf("creating launch template %s: the name is taken, but it cannot be read (%v)", n.LaunchTemplate, err)
		}
	}
	if !owned(cur.tags, cluster, "") {
		return errNotOurs("launch template", n.LaunchTemplate, cluster)
	}
	if _, err := convergeVersion(ctx, client, cur, want, desc); err != nil {
		return err
	}
	return reconcileEC2Tags(ctx, client, cur.id(), cur.tags, tags)
}

// readClusterTemplate fills c from its base template l.
func readClusterTemplate(ctx context.Context, client *ec2.Client, l *launchTemplate, c *Cluster) error {
	v, err := defaultVersion(ctx, client, l.id())
	if err != nil {
		return err
	}
	t := readNodeTemplate(v.LaunchTemplateData)
	c.LaunchTemplateID, c.LaunchTemplateVersion = l.id(), aws.ToInt64(v.VersionNumber)
	c.InstanceType, c.ImageID, c.RootVolumeGiB = t.InstanceType, t.ImageID, t.RootGiB
	readSettings(c, l.tags)
	return nil
}

// deleteLaunchTemplate deletes template name when it is the cluster's (endpoint "") or the
// endpoint's.
func deleteLaunchTemplate(ctx context.Context, client *ec2.Client, name, cluster, endpoint string) error {
	cur, err := findLaunchTemplate(ctx, client, name)
	if err != nil || cur == nil || !owned(cur.tags, cluster, endpoint) {
		return err
	}
	if _, err := client.DeleteLaunchTemplate(ctx, &ec2.DeleteLaunchTemplateInput{LaunchTemplateId: aws.String(cur.id())}); err != nil &&
		!hasCode(err, "InvalidLaunchTemplateId.NotFound", "InvalidLaunchTemplateName.NotFoundException") {
		return fmt.Errorf("deleting launch template %s: %w", name, err)
	}
	return nil
}
