package azure

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
)

// An inference cluster on Azure is the shared part of its endpoints' GPU capacity, all in one
// existing resource group and one location (data residency): a network security group (the
// serving ports from the allowed CIDRs and Azure's load-balancer probes; nothing else, nothing
// from the internet), a user-assigned managed identity (the nodes'), a Key Vault in RBAC mode
// (the endpoints' secrets; public network access off unless asked) on which that identity may
// only read secrets, and an internal Standard load balancer (no public IP; a rule per endpoint,
// added later). Every object is named from the cluster's name (Names) and tagged
// inferstack-cluster=<name>, so a retried apply finds what an earlier one made. What an endpoint
// needs that Azure keeps nowhere else (VM size, image, zones, priority, disk) is kept as tags of
// the load balancer, so an endpoint given only the cluster's ID finds it.

// TagCluster is the tag every Azure object of a cluster carries; its value is the cluster's name.
const TagCluster = "inferstack-cluster"

// TagEndpoint is the tag every Azure object of an endpoint carries; its value is the endpoint's name.
const TagEndpoint = "inferstack-endpoint"

// DefaultServingPorts are the ports the network security group opens when a spec names none.
var DefaultServingPorts = []int64{8000}

// DefaultImage is the node image when a spec names none: Microsoft's Ubuntu 22.04 HPC image
// (NVIDIA driver, CUDA and Docker with the NVIDIA container toolkit), Gen2 for trusted launch.
var DefaultImage = Image{Publisher: "microsoft-dsvm", Offer: "ubuntu-hpc", SKU: "2204", Version: "latest"}

// ClusterNamePattern is what a cluster name must match: it becomes part of Azure names.
var ClusterNamePattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

var (
	// resourceGroupPattern is Azure's rule for resource group names.
	resourceGroupPattern = regexp.MustCompile(`^[-\w.()]{0,89}[-\w()]$`)
	uuidPattern          = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	locationPattern      = regexp.MustCompile(`^[a-z0-9]{2,40}$`)
	vmSizePattern        = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)
	zonePattern          = regexp.MustCompile(`^[1-9]$`)
	imagePartPattern     = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)
	subnetIDPattern      = regexp.MustCompile(`(?i)^/subscriptions/([0-9a-f-]{36})/resourceGroups/([-\w.()]{1,90})/providers/Microsoft\.Network/virtualNetworks/([-\w.]{1,80})/subnets/([-\w.]{1,80})$`)
	galleryImagePattern  = regexp.MustCompile(`(?i)^/subscriptions/[0-9a-f-]{36}/resourceGroups/[-\w.()]{1,90}/providers/Microsoft\.Compute/(galleries/[-\w.]{1,80}/images/[-\w.]{1,80}(/versions/[-\w.]{1,80})?|images/[-\w.]{1,80})$`)
)

// Image is the node image: a marketplace image (Publisher, Offer, SKU, Version) or ID, a
// gallery image (version) or managed image.
type Image struct {
	Publisher, Offer, SKU, Version string
	ID                             string
}

// String is how an image is kept in a tag and shown.
func (i Image) String() string {
	if i.ID != "" {
		return i.ID
	}
	return strings.Join([]string{i.Publisher, i.Offer, i.SKU, i.Version}, ":")
}

// parseImage reads what Image.String wrote.
func parseImage(s string) Image {
	if strings.HasPrefix(s, "/") {
		return Image{ID: s}
	}
	p := strings.Split(s, ":")
	if len(p) != 4 {
		return Image{}
	}
	return Image{Publisher: p[0], Offer: p[1], SKU: p[2], Version: p[3]}
}

// Priority is how nodes are bought: SpotPercentage percent of the nodes on Spot (the scale set's
// priority mix), evicted by EvictionPolicy ("Deallocate" or "Delete"), at most MaxPrice US
// dollars an hour (-1: up to the on-demand price).
type Priority struct {
	SpotPercentage int64
	EvictionPolicy string
	MaxPrice       float64
}

// KeyVault tunes the cluster's vault.
type KeyVault struct {
	// PurgeProtection keeps deleted secrets and the vault recoverable for the retention period
	// (and blocks purging them): a destroyed cluster's vault name stays taken that long.
	PurgeProtection bool
	// PublicNetworkAccess lets the vault's data plane be reached from outside its network
	// (off by default; the provider writes secrets through Azure Resource Manager either way).
	PublicNetworkAccess bool
}

// ClusterSpec is what an inference cluster's azure block says. It is SDK-free.
type ClusterSpec struct {
	Name           string
	SubscriptionID string // "" = the provider's
	ResourceGroup  string // existing; everything is created in it
	Location       string // every object is created here
	SubnetID       string // the nodes' and the load balancer's subnet
	VMSize         string // a GPU size offered in Location (and Zones)
	Image          Image  // zero: DefaultImage
	Priority       Priority
	Zones          []string
	OSDiskGiB      int64    // 0: the image's
	AllowedCIDRs   []string // who may reach the serving ports; empty = the VNet's address space
	ServingPorts   []int64  // empty = DefaultServingPorts
	MaxNodes       int64    // most nodes the endpoints run at once; the quota check covers this many (0: 1)
	TrustedLaunch  bool     // secure boot and vTPM (the image must be Gen2 and support it)
	KeyVault       KeyVault
	Tags           map[string]string
}

// ClusterIDPrefix starts every Azure cluster ID.
const ClusterIDPrefix = Name + "/"

// ClusterID is "azure/<subscription>/<resource group>/<name>": a name is unique in a resource
// group, and an endpoint needs the subscription and group to find the cluster's objects.
func ClusterID(sub, group, name string) string {
	return ClusterIDPrefix + strings.ToLower(sub) + "/" + group + "/" + name
}

// ParseClusterID reads a cluster ID back. Each part is checked before any request is made, so a
// crafted ID cannot reach Azure.
func ParseClusterID(id string) (sub, group, name string, err error) {
	rest, ok := strings.CutPrefix(id, ClusterIDPrefix)
	p := strings.Split(rest, "/")
	if !ok || len(p) != 3 {
		return "", "", "", fmt.Errorf("%q is not an Azure cluster ID (azure/<subscription id>/<resource group>/<name>)", id)
	}
	if err := checkIDParts(p[0], p[1], p[2]); err != nil {
		return "", "", "", fmt.Errorf("%q is not an Azure cluster ID: %w", id, err)
	}
	return strings.ToLower(p[0]), p[1], p[2], nil
}

func checkIDParts(sub, group, name string) error {
	switch {
	case !uuidPattern.MatchString(sub):
		return fmt.Errorf("the subscription %q is not a UUID", sub)
	case !resourceGroupPattern.MatchString(group):
		return fmt.Errorf("the resource group %q is not a resource group name (1-90 letters, digits, _ - . ( ), not ending in .)", group)
	case !ClusterNamePattern.MatchString(name):
		return fmt.Errorf("the name %q is not a cluster name (lower-case letters, digits and inner hyphens, at most 63)", name)
	}
	return nil
}

// Names are the Azure names of a cluster's objects.
type Names struct {
	SecurityGroup, Identity, LoadBalancer, Vault, Frontend string
}

// ResourceNames are the names of cluster name's objects in sub/group. The vault's name is
// global (3-24 characters), so it carries a hash of the cluster's ID.
func ResourceNames(sub, group, name string) Names {
	sum := sha256.Sum256([]byte(strings.ToLower(ClusterID(sub, group, name))))
	short := strings.Trim(name, "-")
	if len(short) > 14 {
		short = strings.TrimRight(short[:14], "-")
	}
	short = strings.ReplaceAll(short, "--", "-")
	return Names{
		SecurityGroup: "inferstack-" + name + "-nsg",
		Identity:      "inferstack-" + name + "-id",
		LoadBalancer:  "inferstack-" + name + "-lb",
		Vault:         "ik-" + short + "-" + hex.EncodeToString(sum[:])[:6],
		Frontend:      "inferstack",
	}
}

// resourceID is the ARM ID of a resource in a group.
func resourceID(sub, group, provider, kind, name string) string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/%s/%s/%s", sub, group, provider, kind, name)
}

// Cluster is what exists on Azure for one inference cluster.
type Cluster struct {
	ID, Name                      string
	SubscriptionID, ResourceGroup string
	Location                      string
	Spec                          ClusterSpec // the settings, from the load balancer's tags
	SecurityGroupID               string
	IdentityID, IdentityClientID  string
	IdentityPrincipalID, TenantID string
	VaultID, VaultName, VaultURI  string
	LoadBalancerID, FrontendID    string
	PrivateIP                     string   // the load balancer's frontend address
	AllowedCIDRs                  []string // as applied (the VNet's address space by default)
	Facts                         *Preflight
	Missing, Warnings             []string
	RoleAssignmentID              string
}

// checkClusterSpec checks what can be checked without Azure; errors are *backend.InputError on
// the block's attribute paths.
func checkClusterSpec(s ClusterSpec) error {
	var errs []error
	bad := func(attr, format string, a ...any) {
		errs = append(errs, &backend.InputError{Attribute: attr, Detail: fmt.Sprintf(format, a...)})
	}
	if !ClusterNamePattern.MatchString(s.Name) || len(s.Name) > 40 {
		errs = append(errs, &backend.InputError{Attribute: "name", Detail: fmt.Sprintf(
			"%q cannot name an Azure cluster: use lower-case letters, digits and inner hyphens, at most 40 (it becomes part of Azure names)", s.Name)})
	}
	if s.SubscriptionID != "" && !uuidPattern.MatchString(s.SubscriptionID) {
		bad("subscription_id", "%q is not a subscription ID (a UUID); leave it null for the provider's", s.SubscriptionID)
	}
	if !resourceGroupPattern.MatchString(s.ResourceGroup) {
		bad("resource_group", "%q is not a resource group name: 1-90 letters, digits, _ - . ( ), not ending in a dot", s.ResourceGroup)
	}
	if !locationPattern.MatchString(s.Location) {
		bad("location", "%q is not an Azure location name such as \"westeurope\" (lower-case, no spaces; `az account list-locations -o table` lists them)", s.Location)
	}
	if m := subnetIDPattern.FindStringSubmatch(s.SubnetID); m == nil {
		bad("subnet_id", "%q is not a subnet ID (/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet>)", s.SubnetID)
	}
	if !vmSizePattern.MatchString(s.VMSize) {
		bad("vm_size", "%q is not a VM size name such as \"Standard_NC24ads_A100_v4\"", s.VMSize)
	}
	img := s.Image
	switch {
	case img.ID != "" && (img.Publisher != "" || img.Offer != "" || img.SKU != ""):
		bad("image", "set either id or publisher, offer and sku, not both")
	case img.ID != "" && !galleryImagePattern.MatchString(img.ID):
		bad("image.id", "%q is not the ID of a gallery image (version) or managed image", img.ID)
	case img.ID == "" && img != (Image{}):
		for _, f := range []struct{ attr, v string }{{"image.publisher", img.Publisher}, {"image.offer", img.Offer}, {"image.sku", img.SKU}, {"image.version", img.Version}} {
			if !imagePartPattern.MatchString(f.v) {
				bad(f.attr, "%q is not a marketplace image part (letters, digits, . _ -); set publisher, offer, sku and version (\"latest\" for the newest)", f.v)
			}
		}
	}
	if p := s.Priority; p.SpotPercentage < 0 || p.SpotPercentage > 100 {
		bad("priority.spot_percentage", "must be between 0 and 100, got %d", p.SpotPercentage)
	}
	switch s.Priority.EvictionPolicy {
	case "", "Deallocate", "Delete":
	default:
		bad("priority.eviction_policy", "must be Deallocate or Delete, got %q", s.Priority.EvictionPolicy)
	}
	if m := s.Priority.MaxPrice; m != -1 && m != 0 && m < 0.00001 {
		bad("priority.max_price", "must be -1 (up to the on-demand price) or a price in US dollars an hour, got %v", m)
	}
	for i, z := range s.Zones {
		if !zonePattern.MatchString(z) {
			bad(fmt.Sprintf("zones[%d]", i), "%q is not an availability zone (\"1\", \"2\", \"3\")", z)
		}
	}
	if s.OSDiskGiB != 0 && (s.OSDiskGiB < 30 || s.OSDiskGiB > 4095) {
		bad("os_disk_gib", "must be between 30 and 4095, got %d", s.OSDiskGiB)
	}
	for i, c := range s.AllowedCIDRs {
		if p, err := netip.ParsePrefix(c); err != nil || p.Masked() != p {
			bad(fmt.Sprintf("allowed_cidrs[%d]", i), "%q is not a CIDR block such as 10.0.0.0/16 (host bits zero)", c)
		} else if p.Bits() == 0 {
			bad(fmt.Sprintf("allowed_cidrs[%d]", i), "%q would admit the internet: name the networks that may call the endpoints", c)
		}
	}
	for i, p := range s.ServingPorts {
		if p < 1 || p > 65535 {
			bad(fmt.Sprintf("serving_ports[%d]", i), "%d is not a TCP port", p)
		}
	}
	if s.MaxNodes < 0 || s.MaxNodes > 1000 {
		bad("max_nodes", "must be between 1 and 1000, got %d", s.MaxNodes)
	}
	return errors.Join(errs...)
}

// withDefaults fills in what the spec leaves to defaults.
func (s ClusterSpec) withDefaults(providerSub string) ClusterSpec {
	if s.SubscriptionID == "" {
		s.SubscriptionID = providerSub
	}
	s.SubscriptionID = strings.ToLower(s.SubscriptionID)
	if s.Image == (Image{}) {
		s.Image = DefaultImage
	}
	if s.Priority.EvictionPolicy == "" {
		s.Priority.EvictionPolicy = "Deallocate"
	}
	if s.Priority.MaxPrice == 0 {
		s.Priority.MaxPrice = -1
	}
	if len(s.ServingPorts) == 0 {
		s.ServingPorts = DefaultServingPorts
	}
	s.ServingPorts = slices.Sorted(slices.Values(s.ServingPorts))
	s.ServingPorts = slices.Compact(s.ServingPorts)
	if s.MaxNodes == 0 {
		s.MaxNodes = 1
	}
	return s
}

// Tags the load balancer carries for the endpoints: the node settings Azure keeps nowhere else.
const (
	tagVMSize        = "inferstack-vm-size"
	tagImage         = "inferstack-image"
	tagZones         = "inferstack-zones"
	tagPriority      = "inferstack-priority"
	tagOSDisk        = "inferstack-os-disk-gib"
	tagSubnet        = "inferstack-subnet"
	tagMaxNodes      = "inferstack-max-nodes"
	tagPorts         = "inferstack-serving-ports"
	tagTrustedLaunch = "inferstack-trusted-launch"
	tagVault         = "inferstack-vault"
	tagCIDRs         = "inferstack-allowed-cidrs"
)

// settingsTags are the tags of the load balancer that keep spec's node settings.
func settingsTags(s ClusterSpec) map[string]string {
	ports := make([]string, len(s.ServingPorts))
	for i, p := range s.ServingPorts {
		ports[i] = strconv.FormatInt(p, 10)
	}
	return map[string]string{
		tagVMSize:        s.VMSize,
		tagImage:         s.Image.String(),
		tagZones:         strings.Join(s.Zones, ","),
		tagPriority:      fmt.Sprintf("%d:%s:%s", s.Priority.SpotPercentage, s.Priority.EvictionPolicy, strconv.FormatFloat(s.Priority.MaxPrice, 'f', -1, 64)),
		tagOSDisk:        strconv.FormatInt(s.OSDiskGiB, 10),
		tagSubnet:        s.SubnetID,
		tagMaxNodes:      strconv.FormatInt(s.MaxNodes, 10),
		tagPorts:         strings.Join(ports, ","),
		tagTrustedLaunch: strconv.FormatBool(s.TrustedLaunch),
		tagVault:         fmt.Sprintf("%t:%t", s.KeyVault.PurgeProtection, s.KeyVault.PublicNetworkAccess),
		tagCIDRs:         strings.Join(s.AllowedCIDRs, ","),
	}
}

// specFromTags reads settingsTags back.
func specFromTags(tags map[string]string) ClusterSpec {
	var s ClusterSpec
	s.VMSize = tags[tagVMSize]
	s.Image = parseImage(tags[tagImage])
	if z := tags[tagZones]; z != "" {
		s.Zones = strings.Split(z, ",")
	}
	if p := strings.SplitN(tags[tagPriority], ":", 3); len(p) == 3 {
		s.Priority.SpotPercentage, _ = strconv.ParseInt(p[0], 10, 64)
		s.Priority.EvictionPolicy = p[1]
		s.Priority.MaxPrice, _ = strconv.ParseFloat(p[2], 64)
	}
	s.OSDiskGiB, _ = strconv.ParseInt(tags[tagOSDisk], 10, 64)
	s.SubnetID = tags[tagSubnet]
	s.MaxNodes, _ = strconv.ParseInt(tags[tagMaxNodes], 10, 64)
	for _, p := range strings.Split(tags[tagPorts], ",") {
		if n, err := strconv.ParseInt(p, 10, 64); err == nil {
			s.ServingPorts = append(s.ServingPorts, n)
		}
	}
	s.TrustedLaunch = tags[tagTrustedLaunch] == "true"
	if v := strings.SplitN(tags[tagVault], ":", 2); len(v) == 2 {
		s.KeyVault = KeyVault{PurgeProtection: v[0] == "true", PublicNetworkAccess: v[1] == "true"}
	}
	if c := tags[tagCIDRs]; c != "" {
		s.AllowedCIDRs = strings.Split(c, ",")
	}
	return s
}
