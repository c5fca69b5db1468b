package aws

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
)

// Preflight is what CheckCluster found out about a spec.
type Preflight struct {
	Region                string
	VPCID                 string
	VPCCIDR               string            // primary IPv4 CIDR
	SubnetZones           map[string]string // subnet id -> Availability Zone
	LoadBalancerSubnetIDs []string          // the first subnet of each zone, in spec order (an NLB takes one per zone)
	AllowedCIDRs          []string          // spec.AllowedCIDRs, or the VPC's CIDR; sorted
	ServingPorts          []int64           // sorted, unique

	InstanceType  string
	VCPUs         int64 // per node
	Architectures []string
	GPU           GPU
	ImageID       string // the AMI, resolved from the SSM parameter when one was named
	// RootDeviceName is the AMI's root device ("/dev/sda1"), where the base launch template
	// puts the encrypted gp3 root volume.
	RootDeviceName string

	MaxNodes      int64
	OnDemandNodes int64 // of MaxNodes
	SpotNodes     int64
	Quota         Quota // on-demand
	SpotQuota     Quota // zero Code when SpotNodes is 0

	Warnings []string // things that may be fine but deserve a look (shown as warnings)
}

// EC2 vCPU quotas (service code "ec2") per instance family, on demand and spot.
type quotaRef struct{ code, name string }

var vcpuQuotas = map[string][2]quotaRef{
	"G": {{"L-DB2E81BA", "Running On-Demand G and VT instances"}, {"L-3819A6DF", "All G and VT Spot Instance Requests"}},
	"P": {{"L-417A185B", "Running On-Demand P instances"}, {"L-7212CCBC", "All P Spot Instance Requests"}},
}

// quotaFamily is the vCPU quota family of an instance type: "G" (g*, vt*) or "P" (p*); "" when
// this package does not know it.
func quotaFamily(instanceType string) string {
	switch {
	case strings.HasPrefix(instanceType, "vt"), strings.HasPrefix(instanceType, "g"):
		return "G"
	case strings.HasPrefix(instanceType, "p"):
		return "P"
	}
	return ""
}

// nodeSplit is how many of max nodes are on demand and spot under c: the base first, then
// (100 - spot percentage) percent of the rest on demand, rounded up, as Auto Scaling does.
func nodeSplit(max int64, c Capacity) (onDemand, spot int64) {
	base := min(max, c.OnDemandBase)
	rest := max - base
	onDemand = base + (rest*(100-c.SpotPercentage)+99)/100
	return onDemand, max - onDemand
}

// maxNodes is spec.MaxNodes, or max(1, on_demand_base) when it is 0.
func maxNodes(spec ClusterSpec) int64 {
	if spec.MaxNodes > 0 {
		return spec.MaxNodes
	}
	return max(1, spec.Capacity.OnDemandBase)
}

// CheckCluster checks spec against the account before anything is created: the subnets exist and
// share one VPC; the instance type carries NVIDIA GPUs, matches the AMI's architecture and is
// offered in every subnet's Availability Zone; the AMI (or its SSM parameter) exists; a capacity
// reservation, if named, fits; and the EC2 vCPU quotas of the type's family cover MaxNodes nodes
// (on demand and spot). Problems with the input come back as *backend.InputError values joined
// into one error (backend.InputErrors lists them), each naming its attribute and the numbers,
// with the Preflight holding what was learned; AWS failures come back wrapped, with no Preflight.
// The quota check compares the quota with this cluster's MaxNodes only: instances already running
// in the account count against the same quota, and are not subtracted.
func (b *Backend) CheckCluster(ctx context.Context, spec ClusterSpec) (*Preflight, error) {
	if err := checkSpec(spec); err != nil {
		return nil, err
	}
	region, err := b.ResolveRegion(ctx, spec.Region)
	if err != nil {
		return nil, err
	}
	client, err := b.EC2(ctx, region)
	if err != nil {
		return nil, err
	}
	pf := &Preflight{Region: region, InstanceType: spec.InstanceType, MaxNodes: maxNodes(spec)}
	pf.ServingPorts = servingPorts(spec)
	var problems []error

	// Subnets and their VPC.
	if err := b.checkSubnets(ctx, client, spec, pf); err != nil {
		if len(backend.InputErrors(err)) == 0 {
			return nil, err
		}
		problems = append(problems, err)
	}

	// Instance type.
	typeOK := false
	if err := b.checkInstanceType(ctx, client, spec, pf); err != nil {
		if len(backend.InputErrors(err)) == 0 {
			return nil, err
		}
		problems = append(problems, err)
	} else {
		typeOK = true
	}

	// Offered in every subnet's zone.
	if typeOK && len(pf.SubnetZones) > 0 {
		if err := checkOfferings(ctx, client, spec, pf); err != nil {
			if len(backend.InputErrors(err)) == 0 {
				return nil, err
			}
			problems = append(problems, err)
		}
	}

	// AMI.
	if err := b.checkAMI(ctx, client, spec, pf, typeOK); err != nil {
		if len(backend.InputErrors(err)) == 0 {
			return nil, err
		}
		problems = append(problems, err)
	}

	// Capacity reservation.
	if id := spec.Capacity.CapacityReservationID; id != "" {
		if err := checkReservation(ctx, client, spec, pf); err != nil {
			if len(backend.InputErrors(err)) == 0 {
				return nil, err
			}
			problems = append(problems, err)
		}
	}

	// Quotas.
	if typeOK {
		if err := b.checkQuotas(ctx, spec, pf); err != nil {
			if len(backend.InputErrors(err)) == 0 {
				return nil, err
			}
			problems = append(problems, err)
		}
	}

	if len(problems) > 0 {
		return pf, errors.Join(problems...)
	}
	return pf, nil
}

// checkSpec is what can be checked without asking AWS.
func checkSpec(spec ClusterSpec) error {
	var errs []error
	if err := validateName(spec.Name); err != nil {
		errs = append(errs, err)
	}
	if len(spec.SubnetIDs) == 0 {
		errs = append(errs, &backend.InputError{Attribute: "subnet_ids", Detail: "name at least one private subnet"})
	}
	if spec.InstanceType == "" {
		errs = append(errs, &backend.InputError{Attribute: "instance_type", Detail: "name a GPU instance type, e.g. g6e.xlarge"})
	}
	if spec.AMI.ID != "" && spec.AMI.SSMParameter != "" {
		errs = append(errs, &backend.InputError{Attribute: "ami", Detail: "set either id or ssm_parameter, not both"})
	}
	if spec.RootVolumeGiB < 0 || spec.RootVolumeGiB > 16384 {
		errs = append(errs, &backend.InputError{Attribute: "root_volume_gib", Detail: fmt.Sprintf("%d GiB is outside gp3's 1-16384 GiB", spec.RootVolumeGiB)})
	}
	c := spec.Capacity
	if c.OnDemandBase < 0 {
		errs = append(errs, &backend.InputError{Attribute: "capacity", Detail: fmt.Sprintf("on_demand_base is %d; it must be 0 or more", c.OnDemandBase)})
	}
	if c.SpotPercentage < 0 || c.SpotPercentage > 100 {
		errs = append(errs, &backend.InputError{Attribute: "capacity", Detail: fmt.Sprintf("spot_percentage is %d; it must be 0-100", c.SpotPercentage)})
	}
	if c.CapacityReservationID != "" && c.SpotPercentage == 100 && c.OnDemandBase == 0 {
		errs = append(errs, &backend.InputError{Attribute: "capacity", Detail: "capacity_reservation_id serves on-demand nodes, but spot_percentage 100 with on_demand_base 0 makes every node spot"})
	}
	if spec.MaxNodes < 0 {
		errs = append(errs, &backend.InputError{Attribute: "max_nodes", Detail: fmt.Sprintf("%d is negative", spec.MaxNodes)})
	}
	if err := validatePorts(spec.ServingPorts); err != nil {
		errs = append(errs, err)
	}
	for _, c := range spec.AllowedCIDRs {
		p, err := netip.ParsePrefix(c)
		switch {
		case err != nil:
			errs = append(errs, &backend.InputError{Attribute: "allowed_cidrs", Detail: fmt.Sprintf("%q is not a CIDR block", c)})
		case p.Masked() != p:
			errs = append(errs, &backend.InputError{Attribute: "allowed_cidrs", Detail: fmt.Sprintf("%s has host bits set; did you mean %s?", c, p.Masked())})
		}
	}
	return errors.Join(errs...)
}

func servingPorts(spec ClusterSpec) []int64 {
	ports := spec.ServingPorts
	if len(ports) == 0 {
		ports = DefaultServingPorts
	}
	out := slices.Clone(ports)
	slices.Sort(out)
	return slices.Compact(out)
}

func (b *Backend) checkSubnets(ctx context.Context, client *ec2.Client, spec ClusterSpec, pf *Preflight) error {
	ids := slices.Clone(spec.SubnetIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	// A filter, not SubnetIds: that fails on the first missing id; this names them all.
	byID := map[string]ec2types.Subnet{}
	p := ec2.NewDescribeSubnetsPaginator(client, &ec2.DescribeSubnetsInput{
		Filters: []ec2types.Filter{{Name: aws.String("subnet-id"), Values: ids}},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("describing subnets %s: %w", strings.Join(ids, ", "), err)
		}
		for _, s := range page.Subnets {
			byID[aws.ToString(s.SubnetId)] = s
		}
	}
	var missing, public []string
	vpcs := map[string][]string{}
	pf.SubnetZones = map[string]string{}
	seenZone := map[string]bool{}
	for _, id := range spec.SubnetIDs {
		s, ok := byID[id]
		if !ok {
			missing = append(missing, id)
			continue
		}
		if _, dup := pf.SubnetZones[id]; dup {
			continue
		}
		zone := aws.ToString(s.AvailabilityZone)
		pf.SubnetZones[id] = zone
		vpcs[aws.ToString(s.VpcId)] = append(vpcs[aws.ToString(s.VpcId)], id)
		if !seenZone[zone] {
			seenZone[zone] = true
			pf.LoadBalancerSubnetIDs = append(pf.LoadBalancerSubnetIDs, id)
		}
		if aws.ToBool(s.MapPublicIpOnLaunch) {
			public = append(public, id)
		}
	}
	if len(missing) > 0 {
		return &backend.InputError{Attribute: "subnet_ids", Detail: fmt.Sprintf("subnets %s do not exist in %s", strings.Join(missing, ", "), pf.Region)}
	}
	if len(vpcs) > 1 {
		var parts []string
		for vpc, ss := range vpcs {
			parts = append(parts, fmt.Sprintf("%s (%s)", vpc, strings.Join(ss, ", ")))
		}
		sort.Strings(parts)
		return &backend.InputError{Attribute: "subnet_ids", Detail: "the subnets are in more than one VPC: " + strings.Join(parts, "; ") + "; a cluster lives in one VPC"}
	}
	for vpc := range vpcs {
		pf.VPCID = vpc
	}
	if len(public) > 0 {
		pf.Warnings = append(pf.Warnings, fmt.Sprintf("subnets %s assign public IPv4 addresses on launch; nodes get none (their launch templates turn it off), but private subnets are expected", strings.Join(public, ", ")))
	}
	vo, err := client.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{pf.VPCID}})
	if err != nil {
		return fmt.Errorf("describing VPC %s: %w", pf.VPCID, err)
	}
	if len(vo.Vpcs) == 0 {
		return fmt.Errorf("describing VPC %s: not found", pf.VPCID)
	}
	pf.VPCCIDR = aws.ToString(vo.Vpcs[0].CidrBlock)
	pf.AllowedCIDRs = slices.Clone(spec.AllowedCIDRs)
	if len(pf.AllowedCIDRs) == 0 {
		pf.AllowedCIDRs = []string{pf.VPCCIDR}
	}
	slices.Sort(pf.AllowedCIDRs)
	pf.AllowedCIDRs = slices.Compact(pf.AllowedCIDRs)
	return nil
}

func (b *Backend) checkInstanceType(ctx context.Context, client *ec2.Client, spec ClusterSpec, pf *Preflight) error {
	out, err := client.DescribeInstanceTypes(ctx, &ec2.DescribeInstanceTypesInput{InstanceTypes: []ec2types.InstanceType{ec2types.InstanceType(spec.InstanceType)}})
	if err != nil {
		if hasCode(err, "InvalidInstanceType") {
			return &backend.InputError{Attribute: "instance_type", Detail: fmt.Sprintf("%s is not an EC2 instance type in %s (see the inferstack_gpu_types data source)", spec.InstanceType, pf.Region)}
		}
		return fmt.Errorf("describing instance type %s: %w", spec.InstanceType, err)
	}
	if len(out.InstanceTypes) == 0 {
		return &backend.InputError{Attribute: "instance_type", Detail: fmt.Sprintf("%s is not an EC2 instance type in %s (see the inferstack_gpu_types data source)", spec.InstanceType, pf.Region)}
	}
	it := out.InstanceTypes[0]
	if it.VCpuInfo != nil {
		pf.VCPUs = int64(aws.ToInt32(it.VCpuInfo.DefaultVCpus))
	}
	if it.ProcessorInfo != nil {
		for _, a := range it.ProcessorInfo.SupportedArchitectures {
			pf.Architectures = append(pf.Architectures, string(a))
		}
	}
	g, ok := gpuType(it)
	if !ok {
		return &backend.InputError{Attribute: "instance_type", Detail: fmt.Sprintf("%s has no GPUs; choose a GPU instance type (see the inferstack_gpu_types data source), e.g. g6e.xlarge", spec.InstanceType)}
	}
	if !strings.EqualFold(g.GPUManufacturer, "NVIDIA") {
		return &backend.InputError{Attribute: "instance_type", Detail: fmt.Sprintf("%s carries %s %s GPUs; nodes run vLLM's CUDA image with the NVIDIA container toolkit, so choose an NVIDIA GPU type", spec.InstanceType, g.GPUManufacturer, g.GPUModel)}
	}
	pf.GPU = GPU{Manufacturer: g.GPUManufacturer, Model: g.GPUModel, Count: g.GPUCount, MemoryMiB: g.GPUMemoryMiB}
	return nil
}

func checkOfferings(ctx context.Context, client *ec2.Client, spec ClusterSpec, pf *Preflight) error {
	offered := map[string]bool{}
	p := ec2.NewDescribeInstanceTypeOfferingsPaginator(client, &ec2.DescribeInstanceTypeOfferingsInput{
		LocationType: ec2types.LocationTypeAvailabilityZone,
		Filters:      []ec2types.Filter{{Name: aws.String("instance-type"), Values: []string{spec.InstanceType}}},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("describing offerings of %s: %w", spec.InstanceType, err)
		}
		for _, o := range page.InstanceTypeOfferings {
			offered[aws.ToString(o.Location)] = true
		}
	}
	var bad []string
	for _, id := range spec.SubnetIDs {
		if z, ok := pf.SubnetZones[id]; ok && !offered[z] && !slices.Contains(bad, fmt.Sprintf("%s (%s)", z, id)) {
			bad = append(bad, fmt.Sprintf("%s (%s)", z, id))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	zones := sortedKeys(boolKeys(offered))
	where := "in no Availability Zone of " + pf.Region
	if len(zones) > 0 {
		where = "only in " + strings.Join(zones, ", ")
	}
	return &backend.InputError{Attribute: "instance_type", Detail: fmt.Sprintf(
		"%s is not offered in %s; it is offered %s: choose subnets in those zones, or another instance type",
		spec.InstanceType, strings.Join(bad, ", "), where)}
}

func boolKeys(m map[string]bool) map[string]string {
	out := make(map[string]string, len(m))
	for k := range m {
		out[k] = ""
	}
	return out
}

func (b *Backend) checkAMI(ctx context.Context, client *ec2.Client, spec ClusterSpec, pf *Preflight, typeOK bool) error {
	id, param := spec.AMI.ID, spec.AMI.SSMParameter
	if id == "" && param == "" {
		param = DefaultAMIParameter
	}
	if param != "" {
		sc, err := b.SSM(ctx, pf.Region)
		if err != nil {
			return err
		}
		out, err := sc.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(param)})
		if err != nil {
			if hasCode(err, "ParameterNotFound") {
				return &backend.InputError{Attribute: "ami", Detail: fmt.Sprintf("the SSM parameter %s does not exist in %s: check its name, or set ami.id", param, pf.Region)}
			}
			return fmt.Errorf("reading SSM parameter %s: %w", param, err)
		}
		if out.Parameter != nil {
			id = strings.TrimSpace(aws.ToString(out.Parameter.Value))
		}
		if !strings.HasPrefix(id, "ami-") {
			return &backend.InputError{Attribute: "ami", Detail: fmt.Sprintf("the SSM parameter %s holds %q, not an AMI id", param, id)}
		}
	}
	out, err := client.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{id}})
	if err != nil && !hasCode(err, "InvalidAMIID.NotFound", "InvalidAMIID.Malformed", "InvalidAMIID.Unavailable") {
		return fmt.Errorf("describing AMI %s: %w", id, err)
	}
	if err != nil || len(out.Images) == 0 {
		from := ""
		if param != "" {
			from = " (from SSM parameter " + param + ")"
		}
		return &backend.InputError{Attribute: "ami", Detail: fmt.Sprintf("AMI %s%s does not exist in %s or is not shared with this account", id, from, pf.Region)}
	}
	img := out.Images[0]
	pf.ImageID, pf.RootDeviceName = id, aws.ToString(img.RootDeviceName)
	var errs []error
	if s := img.State; s != "" && s != ec2types.ImageStateAvailable {
		errs = append(errs, &backend.InputError{Attribute: "ami", Detail: fmt.Sprintf("AMI %s is %s, not available", id, s)})
	}
	if arch := string(img.Architecture); typeOK && arch != "" && len(pf.Architectures) > 0 && !slices.Contains(pf.Architectures, arch) {
		errs = append(errs, &backend.InputError{Attribute: "ami", Detail: fmt.Sprintf(
			"AMI %s is for %s, but %s runs %s: choose an AMI of that architecture", id, arch, spec.InstanceType, strings.Join(pf.Architectures, " or "))})
	}
	if spec.RootVolumeGiB > 0 {
		for _, m := range img.BlockDeviceMappings {
			if aws.ToString(m.DeviceName) == aws.ToString(img.RootDeviceName) && m.Ebs != nil && int64(aws.ToInt32(m.Ebs.VolumeSize)) > spec.RootVolumeGiB {
				errs = append(errs, &backend.InputError{Attribute: "root_volume_gib", Detail: fmt.Sprintf(
					"%d GiB is smaller than AMI %s's root snapshot (%d GiB)", spec.RootVolumeGiB, id, aws.ToInt32(m.Ebs.VolumeSize))})
			}
		}
	}
	return errors.Join(errs...)
}

func checkReservation(ctx context.Context, client *ec2.Client, spec ClusterSpec, pf *Preflight) error {
	id := spec.Capacity.CapacityReservationID
	out, err := client.DescribeCapacityReservations(ctx, &ec2.DescribeCapacityReservationsInput{CapacityReservationIds: []string{id}})
	if err != nil && !hasCode(err, "InvalidCapacityReservationId.NotFound", "InvalidCapacityReservationId.Malformed") {
		return fmt.Errorf("describing capacity reservation %s: %w", id, err)
	}
	if err != nil || len(out.CapacityReservations) == 0 {
		return &backend.InputError{Attribute: "capacity", Detail: fmt.Sprintf("capacity reservation %s does not exist in %s", id, pf.Region)}
	}
	cr := out.CapacityReservations[0]
	var errs []error
	if t := aws.ToString(cr.InstanceType); t != spec.InstanceType {
		errs = append(errs, &backend.InputError{Attribute: "capacity", Detail: fmt.Sprintf("capacity reservation %s is for %s, not %s", id, t, spec.InstanceType)})
	}
	if cr.State != ec2types.CapacityReservationStateActive {
		errs = append(errs, &backend.InputError{Attribute: "capacity", Detail: fmt.Sprintf("capacity reservation %s is %s, not active", id, cr.State)})
	}
	zone := aws.ToString(cr.AvailabilityZone)
	if len(pf.SubnetZones) > 0 && !slices.Contains(mapValues(pf.SubnetZones), zone) {
		errs = append(errs, &backend.InputError{Attribute: "capacity", Detail: fmt.Sprintf("capacity reservation %s is in %s, where none of subnet_ids is", id, zone)})
	}
	if n := int64(aws.ToInt32(cr.TotalInstanceCount)); n > 0 {
		od, _ := nodeSplit(pf.MaxNodes, spec.Capacity)
		if od > n {
			pf.Warnings = append(pf.Warnings, fmt.Sprintf("capacity reservation %s holds %d instances; up to %d nodes may run on demand, and those beyond it run outside the reservation", id, n, od))
		}
	}
	return errors.Join(errs...)
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func (b *Backend) checkQuotas(ctx context.Context, spec ClusterSpec, pf *Preflight) error {
	pf.OnDemandNodes, pf.SpotNodes = nodeSplit(pf.MaxNodes, spec.Capacity)
	fam := quotaFamily(spec.InstanceType)
	refs, ok := vcpuQuotas[fam]
	if !ok {
		pf.Warnings = append(pf.Warnings, fmt.Sprintf("the vCPU quota of %s's family is not known to the provider and was not checked", spec.InstanceType))
		return nil
	}
	var errs []error
	for i, n := range []int64{pf.OnDemandNodes, pf.SpotNodes} {
		ref := refs[i]
		market := [...]string{"on-demand", "spot"}[i]
		q := Quota{Code: ref.code, Name: ref.name, NeededVCPUs: n * pf.VCPUs}
		if n == 0 {
			if i == 0 {
				pf.Quota = q
			}
			continue
		}
		value, name, found, err := b.serviceQuota(ctx, pf.Region, ref.code)
		if err != nil && ctx.Err() != nil {
			return err
		}
		if name != "" {
			q.Name = name
		}
		switch {
		case err != nil:
			// A quota the provider cannot read must not block an apply AWS would accept.
			pf.Warnings = append(pf.Warnings, unreadQuotaWarning(q, market, pf.Region, n, spec.InstanceType, err))
		case found:
			q.Value, q.Checked = value, true
			if float64(q.NeededVCPUs) > value {
				errs = append(errs, &backend.InputError{Attribute: "capacity", Detail: fmt.Sprintf(
					"needs %d vCPUs for %d x %s %s (%d vCPUs each), but the quota %s %q is %g in %s: request an increase to at least %d (Service Quotas, service ec2, quota %s), or plan fewer nodes",
					q.NeededVCPUs, n, spec.InstanceType, market, pf.VCPUs, q.Code, q.Name, value, pf.Region, q.NeededVCPUs, q.Code)})
			}
		default:
			pf.Warnings = append(pf.Warnings, fmt.Sprintf("could not read the %s vCPU quota %s %q in %s, so it was not checked: %d x %s need %d vCPUs", market, q.Code, q.Name, pf.Region, n, spec.InstanceType, q.NeededVCPUs))
		}
		if i == 0 {
			pf.Quota = q
		} else {
			pf.SpotQuota = q
		}
	}
	return errors.Join(errs...)
}

// quotaMaxAttempts caps the attempts of a Service Quotas call: the quota check only advises, so
// an endpoint that keeps failing (5xx, throttling, no Service Quotas in the partition) turns into
// a warning after a few tries instead of holding the apply through the client's usual 25.
const quotaMaxAttempts = 3

// unreadQuotaWarning says that quota q could not be read (err), what it would have had to cover,
// and what to check.
func unreadQuotaWarning(q Quota, market, region string, nodes int64, instanceType string, err error) string {
	check := fmt.Sprintf("check it in the Service Quotas console (service ec2, quota %s)", q.Code)
	if hasCode(err, "AccessDeniedException", "AccessDenied") {
		check += " or allow servicequotas:GetServiceQuota and servicequotas:GetAWSDefaultServiceQuota to the provider's credentials"
	}
	return fmt.Sprintf("could not read the %s vCPU quota %s %q in %s (%s), so it was not checked: %d x %s need %d vCPUs; %s",
		market, q.Code, q.Name, region, apiMessage(err), nodes, instanceType, q.NeededVCPUs, check)
}

// serviceQuota reads an EC2 quota: the applied value, else AWS's default. found is false when
// neither exists. An error means the quota could not be read (denied, unavailable, failing after
// quotaMaxAttempts attempts): the caller warns and goes on.
func (b *Backend) serviceQuota(ctx context.Context, region, code string) (value float64, name string, found bool, err error) {
	sq, err := b.ServiceQuotas(ctx, region)
	if err != nil {
		return 0, "", false, err
	}
	limit := quotaMaxAttempts
	if b.cfg.MaxAttempts > 0 {
		limit = min(limit, b.cfg.MaxAttempts)
	}
	attempts := func(o *servicequotas.Options) { o.RetryMaxAttempts = limit }
	in := &servicequotas.GetServiceQuotaInput{ServiceCode: aws.String("ec2"), QuotaCode: aws.String(code)}
	out, err := sq.GetServiceQuota(ctx, in, attempts)
	if err == nil && out.Quota != nil && out.Quota.Value != nil {
		return aws.ToFloat64(out.Quota.Value), aws.ToString(out.Quota.QuotaName), true, nil
	}
	if err != nil && !hasCode(err, "NoSuchResourceException") {
		return 0, "", false, fmt.Errorf("reading EC2 quota %s in %s: %w", code, region, err)
	}
	def, err := sq.GetAWSDefaultServiceQuota(ctx, &servicequotas.GetAWSDefaultServiceQuotaInput{ServiceCode: aws.String("ec2"), QuotaCode: aws.String(code)}, attempts)
	if err != nil {
		if hasCode(err, "NoSuchResourceException") {
			return 0, "", false, nil
		}
		return 0, "", false, fmt.Errorf("reading the default of EC2 quota %s in %s: %w", code, region, err)
	}
	if def.Quota == nil || def.Quota.Value == nil {
		return 0, "", false, nil
	}
	return aws.ToFloat64(def.Quota.Value), aws.ToString(def.Quota.QuotaName), true, nil
}
