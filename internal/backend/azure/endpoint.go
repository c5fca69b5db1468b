package azure

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"
	"golang.org/x/crypto/ssh"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	"github.com/inferstack/terraform-provider-inferstack/internal/vllm"
	"github.com/inferstack/terraform-provider-inferstack/internal/wait"
)

// An endpoint on Azure is a virtual machine scale set (Flexible orchestration) made from its
// cluster's settings, whose custom data is the same gzip-compressed cloud-init the AWS backend
// sends (the node script and the spec; the secrets are read at boot from the cluster's Key Vault
// with the cluster's managed identity, never carried in it), plus a backend pool, an HTTP probe
// on /health and a rule on the cluster's load balancer at the endpoint's port. The scale set's
// Application Health extension reports each node's /health, and its rolling upgrade policy
// replaces nodes in batches, gated on that health, when the spec changes.

// DefaultPort is the endpoint's port when its azure block names none.
const DefaultPort = 8000

// MaxCustomData is the most custom data Azure takes (64 KiB, base64).
const MaxCustomData = 64 * 1024

// EndpointSettings is the azure block of an endpoint (backend.EndpointSpec.Settings); zero values
// take the defaults.
type EndpointSettings struct {
	Port int64
	// MaxBatchInstancePercent is the share of nodes a rolling upgrade replaces at once (default 20).
	MaxBatchInstancePercent int64
	// MaxUnhealthyInstancePercent stops a rolling upgrade when more nodes than this are unhealthy (default 20).
	MaxUnhealthyInstancePercent int64
}

// EndpointSpec is what the backend makes an endpoint from.
type EndpointSpec struct {
	SubscriptionID, ResourceGroup, Cluster, Name string
	Replicas                                     int64
	// MinReplicas and MaxReplicas (both 0: no autoscaling) bound the capacity, which a scaling
	// rule of the user's own may move: within them an existing scale set keeps its capacity.
	MinReplicas, MaxReplicas int64
	Settings                 EndpointSettings
	Node                     vllm.Spec
	APIKey, HFToken          string
	Tags                     map[string]string
}

func (s EndpointSpec) withDefaults() EndpointSpec {
	if s.Settings.Port == 0 {
		s.Settings.Port = DefaultPort
	}
	if s.Settings.MaxBatchInstancePercent == 0 {
		s.Settings.MaxBatchInstancePercent = 20
	}
	if s.Settings.MaxUnhealthyInstancePercent == 0 {
		s.Settings.MaxUnhealthyInstancePercent = 20
	}
	return s
}

// Endpoint is what exists on Azure of an endpoint.
type Endpoint struct {
	ID, ClusterID, Name string
	URL                 string
	Port                int64
	ScaleSetID          string
	ScaleSetName        string
	VMSize              string
	Capacity            int64
	Min, Max            int64 // the autoscaling bounds (both Capacity without autoscaling)
	Nodes               []Node
	Healthy             int64
	// Upgrade is the latest rolling upgrade's status ("" when none ran): RollingForward,
	// Completed, Faulted, Cancelled; UpgradeDetail says how far it got or why it stopped.
	Upgrade, UpgradeDetail string
	// Applied is the spec the nodes get, read back from the scale set's user data.
	Applied                     *vllm.AppliedSpec
	APIKeySecret, HFTokenSecret string // secret names in the cluster's vault ("" when absent)
	VaultURI                    string
	Settings                    EndpointSettings
	Missing                     []string
}

// Node is one VM of the scale set.
type Node struct {
	Name, Zone, Health string // Health: healthy, initializing, unhealthy, unknown
}

// ScaleSetName is the scale set of endpoint name of cluster (at most 64 characters).
func ScaleSetName(cluster, name string) string {
	n := "inferstack-" + cluster + "-" + name
	if len(n) > 64 {
		sum := sha256.Sum256([]byte(n))
		n = n[:55] + "-" + hex.EncodeToString(sum[:])[:8]
	}
	return n
}

func secretNames(endpoint string) (apiKey, hfToken string) {
	return endpoint + "-api-key", endpoint + "-hf-token"
}

// vaultSuffix is the DNS suffix of the cloud's vaults.
func (b *Backend) vaultSuffix() string {
	if b.cfg.KeyVaultSuffix != "" {
		return strings.TrimPrefix(b.cfg.KeyVaultSuffix, ".")
	}
	switch strings.ToLower(b.cfg.Environment) {
	case "usgovernment":
		return "vault.usgovcloudapi.net"
	case "china":
		return "vault.azure.cn"
	}
	return "vault.azure.net"
}

// clusterOf reads the endpoint's cluster and checks it can take endpoints.
func (b *Backend) clusterOf(ctx context.Context, s EndpointSpec) (*Cluster, error) {
	cl, err := b.FindCluster(ctx, s.SubscriptionID, s.ResourceGroup, s.Cluster)
	if err != nil {
		if backend.IsNotFound(err) {
			return nil, fmt.Errorf("cluster %s does not exist in resource group %s: apply its inferstack_inference_cluster first", s.Cluster, s.ResourceGroup)
		}
		return nil, err
	}
	if len(cl.Missing) > 0 {
		return nil, fmt.Errorf("cluster %s is missing its %s (deleted outside Terraform): apply the cluster again first",
			s.Cluster, strings.Join(cl.Missing, ", "))
	}
	return cl, nil
}

// EnsureEndpoint writes the endpoint's secrets, its pool, probe and rule on the cluster's load
// balancer, and its scale set; it does not wait for the nodes (WaitEndpointReady does). A scale
// set whose model is unchanged is not written, so nothing rolls.
func (b *Backend) EnsureEndpoint(ctx context.Context, s EndpointSpec) (*Endpoint, error) {
	s = s.withDefaults()
	c, sub, err := b.clientsFor(s.SubscriptionID)
	if err != nil {
		return nil, err
	}
	s.SubscriptionID = sub
	cl, err := b.clusterOf(ctx, s)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(cl.Spec.ServingPorts, s.Settings.Port) {
		return nil, &backend.InputError{Attribute: "port", Detail: fmt.Sprintf(
			"port %d is not one of the cluster's serving ports (%v), which its network security group opens: use one, or add it to the cluster's serving_ports",
			s.Settings.Port, cl.Spec.ServingPorts)}
	}
	if most := max(s.Replicas, s.MaxReplicas); most > cl.Spec.MaxNodes {
		return nil, fmt.Errorf("replicas (or autoscaling.max): %d nodes are more than the cluster's azure.max_nodes (%d), which its quota check covered: "+
			"lower them, or raise max_nodes on the cluster", most, cl.Spec.MaxNodes)
	}
	gpu, encryption, err := b.nodeFacts(ctx, c, cl)
	if err != nil {
		return nil, err
	}
	tp, pp := max(1, s.Node.Engine.TensorParallelSize), max(1, s.Node.Engine.PipelineParallelSize)
	if int64(tp*pp) > gpu.GPUCount {
		return nil, &vllm.SpecError{Attribute: vllm.AttrTensorParallelSize, Detail: fmt.Sprintf(
			"tensor_parallel_size x pipeline_parallel_size = %d GPUs, but a node of the cluster (%s) has %d: lower them, or use a cluster with larger nodes",
			tp*pp, cl.Spec.VMSize, gpu.GPUCount)}
	}
	tags := b.endpointTags(cl, s)

	apiName, hfName := secretNames(s.Name)
	apiURI, err := b.ensureSecret(ctx, c, cl, apiName, s.APIKey, tags)
	if err != nil {
		return nil, err
	}
	node := s.Node
	node.Endpoint = s.Name
	node.Replicas = []vllm.Replica{{Index: 0, Port: int(s.Settings.Port)}}
	node.ListenAddress = ""
	node.GPUsPerReplica = int(gpu.GPUCount)
	node.Secrets = vllm.Secrets{APIKey: vllm.SecretRef{Source: vllm.SecretAzureKeyVault, Name: apiURI, ClientID: cl.IdentityClientID}}
	if s.HFToken != "" {
		hfURI, err := b.ensureSecret(ctx, c, cl, hfName, s.HFToken, tags)
		if err != nil {
			return nil, err
		}
		node.Secrets.HFToken = vllm.SecretRef{Source: vllm.SecretAzureKeyVault, Name: hfURI, ClientID: cl.IdentityClientID}
	}
	if err := node.Validate(); err != nil {
		return nil, err
	}
	bundle, err := vllm.NodeBundle(node)
	if err != nil {
		return nil, err
	}
	gz, err := vllm.AWSUserData(bundle.CloudInit)
	if err != nil {
		return nil, err
	}
	custom := base64.StdEncoding.EncodeToString(gz)
	if len(custom) > MaxCustomData {
		return nil, fmt.Errorf("the custom data of endpoint %s is %d bytes, more than the %d Azure takes", s.Name, len(custom), MaxCustomData)
	}

	poolID, err := b.ensureEndpointTraffic(ctx, c, cl, s)
	if err != nil {
		return nil, err
	}
	name := ScaleSetName(s.Cluster, s.Name)
	existing, err := c.scaleSets.Get(ctx, s.ResourceGroup, name, &armcompute.VirtualMachineScaleSetsClientGetOptions{Expand: to.Ptr(armcompute.ExpandTypesForGetVMScaleSetsUserData)})
	var prior *armcompute.VirtualMachineScaleSet
	switch {
	case err == nil:
		if str(existing.Tags[TagCluster]) != s.Cluster || str(existing.Tags[TagEndpoint]) != s.Name {
			return nil, fmt.Errorf("scale set %s exists but is not tagged %s=%s and %s=%s, so it is not this endpoint's: delete or rename it",
				name, TagCluster, s.Cluster, TagEndpoint, s.Name)
		}
		prior = &existing.VirtualMachineScaleSet
	case !isNotFound(err):
		return nil, fmt.Errorf("reading scale set %s: %w", name, err)
	}
	s.Replicas = capacity(s, prior)
	if s.MaxReplicas > 0 {
		tags[tagAutoscaling] = to.Ptr(fmt.Sprintf("%d:%d", s.MinReplicas, s.MaxReplicas))
	}
	want, err := scaleSet(cl, s, custom, poolID, tags, prior, encryption)
	if err != nil {
		return nil, err
	}
	if prior == nil || !sameModel(*prior, want) {
		backend.Report(ctx, name, fmt.Sprintf("writing scale set (%d x %s)", s.Replicas, cl.Spec.VMSize))
		if _, err := started(c.scaleSets.BeginCreateOrUpdate(ctx, s.ResourceGroup, name, want, nil)).wait(ctx, b); err != nil {
			return nil, fmt.Errorf("writing scale set %s: %w", name, err)
		}
	}
	return b.FindEndpoint(ctx, s.SubscriptionID, s.ResourceGroup, s.Cluster, s.Name)
}

// tagAutoscaling keeps an endpoint's autoscaling bounds ("<min>:<max>") on its scale set.
const tagAutoscaling = "inferstack-autoscaling"

// capacity is the scale set's capacity: replicas, or with autoscaling the existing scale set's
// capacity brought within the bounds (a scaling rule of the user's own moves it; the provider
// does not fight it).
func capacity(s EndpointSpec, prior *armcompute.VirtualMachineScaleSet) int64 {
	if s.MaxReplicas == 0 {
		return s.Replicas
	}
	have := s.Replicas
	if prior != nil && prior.SKU != nil && prior.SKU.Capacity != nil {
		have = *prior.SKU.Capacity
	}
	return min(max(have, s.MinReplicas), s.MaxReplicas)
}

// nodeFacts are a node's GPUs and whether its size supports encryption at host: as the cluster
// keeps them on its load balancer, or, for a cluster made before it kept them, from the
// location's resource SKUs.
func (b *Backend) nodeFacts(ctx context.Context, c *clients, cl *Cluster) (backend.GPUType, bool, error) {
	if f := cl.Facts; f != nil && f.GPU.GPUCount > 0 {
		return f.GPU, f.EncryptionAtHost, nil
	}
	sku, err := findSKU(ctx, c, cl.Location, cl.Spec.VMSize)
	if err != nil {
		return backend.GPUType{}, false, err
	}
	gpu, ok := gpuType(sku, cl.Location)
	if !ok {
		return backend.GPUType{}, false, fmt.Errorf("the cluster's VM size %s has no GPU in %s", cl.Spec.VMSize, cl.Location)
	}
	return gpu, capability(sku, "EncryptionAtHostSupported") == "True", nil
}

func (b *Backend) endpointTags(cl *Cluster, s EndpointSpec) map[string]*string {
	t := b.tags(cl.Spec, s.Tags)
	t[TagEndpoint] = to.Ptr(s.Name)
	return t
}

// tagValueHash is the tag that says which value a secret holds, without holding it: Azure
// Resource Manager never returns a secret's value, and writing it again at every apply would
// make a new version and roll the nodes.
const tagValueHash = "inferstack-value-sha256"

func valueHash(name, value string) string {
	sum := sha256.Sum256([]byte("inferstack\x00" + name + "\x00" + value))
	return hex.EncodeToString(sum[:])
}

// ensureSecret writes a secret through Azure Resource Manager (which works with the vault's
// public network access off) when its value changed, and returns its versioned URL as the nodes
// read it.
func (b *Backend) ensureSecret(ctx context.Context, c *clients, cl *Cluster, name, value string, tags map[string]*string) (string, error) {
	h := valueHash(name, value)
	got, err := c.secrets.Get(ctx, cl.ResourceGroup, cl.VaultName, name, nil)
	if err == nil && str(got.Tags[tagValueHash]) == h && got.Properties != nil && got.Properties.SecretURIWithVersion != nil {
		return b.nodeSecretURL(cl, name, *got.Properties.SecretURIWithVersion), nil
	}
	if err != nil && !isNotFound(err) {
		return "", fmt.Errorf("reading secret %s of vault %s: %w", name, cl.VaultName, err)
	}
	t := maps.Clone(tags)
	t[tagValueHash] = to.Ptr(h)
	put, err := c.secrets.CreateOrUpdate(ctx, cl.ResourceGroup, cl.VaultName, name, armkeyvault.SecretCreateOrUpdateParameters{
		Tags: t, Properties: &armkeyvault.SecretProperties{Value: to.Ptr(value), ContentType: to.Ptr("text/plain")},
	}, nil)
	if err != nil {
		return "", fmt.Errorf("writing secret %s of vault %s: %w", name, cl.VaultName, err)
	}
	if put.Properties == nil || put.Properties.SecretURIWithVersion == nil {
		return "", fmt.Errorf("writing secret %s of vault %s: Azure returned no version", name, cl.VaultName)
	}
	return b.nodeSecretURL(cl, name, *put.Properties.SecretURIWithVersion), nil
}

// nodeSecretURL is the URL a node reads the secret at: the vault's name in the cloud's vault
// domain, with the version Azure returned.
func (b *Backend) nodeSecretURL(cl *Cluster, name, withVersion string) string {
	version := withVersion[strings.LastIndexByte(withVersion, '/')+1:]
	return fmt.Sprintf("https://%s.%s/secrets/%s/%s", cl.VaultName, b.vaultSuffix(), name, version)
}

// ensureEndpointTraffic adds the endpoint's backend pool, probe (HTTP /health) and rule (its
// port) to the cluster's load balancer, and returns the pool's ID.
func (b *Backend) ensureEndpointTraffic(ctx context.Context, c *clients, cl *Cluster, s EndpointSpec) (string, error) {
	names := ResourceNames(cl.SubscriptionID, cl.ResourceGroup, cl.Name)
	unlock := b.locks.lock(cl.LoadBalancerID)
	defer unlock()
	got, err := c.lbs.Get(ctx, cl.ResourceGroup, names.LoadBalancer, nil)
	if err != nil {
		return "", fmt.Errorf("reading load balancer %s: %w", names.LoadBalancer, err)
	}
	lb := got.LoadBalancer
	p := lb.Properties
	if p == nil {
		p = &armnetwork.LoadBalancerPropertiesFormat{}
		lb.Properties = p
	}
	poolID := cl.LoadBalancerID + "/backendAddressPools/" + s.Name
	probeID := cl.LoadBalancerID + "/probes/" + s.Name
	for _, r := range p.LoadBalancingRules {
		if r != nil && str(r.Name) != s.Name && r.Properties != nil && int64(deref(r.Properties.FrontendPort, 0)) == s.Settings.Port {
			return "", &backend.InputError{Attribute: "port", Detail: fmt.Sprintf(
				"port %d of the cluster's load balancer is taken by endpoint %s: give this endpoint another of the cluster's serving ports", s.Settings.Port, str(r.Name))}
		}
	}
	pool := &armnetwork.BackendAddressPool{Name: to.Ptr(s.Name)}
	probe := &armnetwork.Probe{Name: to.Ptr(s.Name), Properties: &armnetwork.ProbePropertiesFormat{
		Protocol: to.Ptr(armnetwork.ProbeProtocolHTTP), Port: to.Ptr(int32(s.Settings.Port)), RequestPath: to.Ptr("/health"),
		IntervalInSeconds: to.Ptr[int32](5), ProbeThreshold: to.Ptr[int32](2),
	}}
	rule := &armnetwork.LoadBalancingRule{Name: to.Ptr(s.Name), Properties: &armnetwork.LoadBalancingRulePropertiesFormat{
		FrontendIPConfiguration: &armnetwork.SubResource{ID: to.Ptr(cl.FrontendID)},
		BackendAddressPool:      &armnetwork.SubResource{ID: to.Ptr(poolID)},
		Probe:                   &armnetwork.SubResource{ID: to.Ptr(probeID)},
		Protocol:                to.Ptr(armnetwork.TransportProtocolTCP),
		FrontendPort:            to.Ptr(int32(s.Settings.Port)), BackendPort: to.Ptr(int32(s.Settings.Port)),
		IdleTimeoutInMinutes: to.Ptr[int32](30), EnableFloatingIP: to.Ptr(false), DisableOutboundSnat: to.Ptr(true),
		LoadDistribution: to.Ptr(armnetwork.LoadDistributionDefault),
	}}
	changed := false
	p.BackendAddressPools, changed = upsert(p.BackendAddressPools, pool, func(x *armnetwork.BackendAddressPool) string { return str(x.Name) }, func(_, _ *armnetwork.BackendAddressPool) bool { return true }, changed)
	p.Probes, changed = upsert(p.Probes, probe, func(x *armnetwork.Probe) string { return str(x.Name) }, sameProbe, changed)
	p.LoadBalancingRules, changed = upsert(p.LoadBalancingRules, rule, func(x *armnetwork.LoadBalancingRule) string { return str(x.Name) }, sameRule, changed)
	if !changed {
		return poolID, nil
	}
	etag := str(lb.Etag)
	lb.Etag = nil
	if _, err := started(c.lbs.BeginCreateOrUpdate(ifMatch(ctx, etag), cl.ResourceGroup, names.LoadBalancer, lb, nil)).wait(ctx, b); err != nil {
		return "", fmt.Errorf("adding endpoint %s to load balancer %s: %w", s.Name, names.LoadBalancer, err)
	}
	return poolID, nil
}

// upsert puts want in list by name, unless an equal element is there.
func upsert[T any](list []*T, want *T, name func(*T) string, same func(a, b *T) bool, changed bool) ([]*T, bool) {
	for i, x := range list {
		if x != nil && name(x) == name(want) {
			if same(x, want) {
				return list, changed
			}
			list[i] = want
			return list, true
		}
	}
	return append(list, want), true
}

func sameProbe(a, b *armnetwork.Probe) bool {
	if a.Properties == nil {
		return false
	}
	x, y := a.Properties, b.Properties
	return deref(x.Protocol, "") == deref(y.Protocol, "") && deref(x.Port, 0) == deref(y.Port, 0) &&
		str(x.RequestPath) == str(y.RequestPath)
}

func sameRule(a, b *armnetwork.LoadBalancingRule) bool {
	if a.Properties == nil {
		return false
	}
	x, y := a.Properties, b.Properties
	ref := func(r *armnetwork.SubResource) string {
		if r == nil {
			return ""
		}
		return strings.ToLower(str(r.ID))
	}
	return deref(x.FrontendPort, 0) == deref(y.FrontendPort, 0) && deref(x.BackendPort, 0) == deref(y.BackendPort, 0) &&
		ref(x.BackendAddressPool) == ref(y.BackendAddressPool) && ref(x.Probe) == ref(y.Probe) &&
		ref(x.FrontendIPConfiguration) == ref(y.FrontendIPConfiguration)
}

// adminUser is the nodes' only account; its key's private half is never kept, so nobody logs in.
const adminUser = "inferstack"

// sshKey is the public key of the admin account: the prior scale set's (so an update does not
// change the model), or a new RSA key whose private half is dropped.
func sshKey(prior *armcompute.VirtualMachineScaleSet) (string, error) {
	if prior != nil && prior.Properties != nil && prior.Properties.VirtualMachineProfile != nil {
		if os := prior.Properties.VirtualMachineProfile.OSProfile; os != nil && os.LinuxConfiguration != nil && os.LinuxConfiguration.SSH != nil {
			for _, k := range os.LinuxConfiguration.SSH.PublicKeys {
				if k != nil && k.KeyData != nil {
					return *k.KeyData, nil
				}
			}
		}
	}
	key, err := rsa.GenerateKey(rand.Reader, 3072)
	if err != nil {
		return "", err
	}
	pub, err := ssh.NewPublicKey(&key.PublicKey)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))), nil
}

// scaleSet is the endpoint's scale set: Flexible orchestration, the cluster's size, image,
// zones, priority, identity and security group, no public IP, the Application Health
// extension on /health, and a rolling upgrade policy.
func scaleSet(cl *Cluster, s EndpointSpec, custom, poolID string, tags map[string]*string,
	prior *armcompute.VirtualMachineScaleSet, encryption bool) (armcompute.VirtualMachineScaleSet, error) {
	key, err := sshKey(prior)
	if err != nil {
		return armcompute.VirtualMachineScaleSet{}, err
	}
	spec := cl.Spec
	img := &armcompute.ImageReference{}
	if spec.Image.ID != "" {
		img.ID = to.Ptr(spec.Image.ID)
	} else {
		img.Publisher, img.Offer, img.SKU, img.Version = to.Ptr(spec.Image.Publisher), to.Ptr(spec.Image.Offer), to.Ptr(spec.Image.SKU), to.Ptr(spec.Image.Version)
	}
	osDisk := &armcompute.VirtualMachineScaleSetOSDisk{
		CreateOption: to.Ptr(armcompute.DiskCreateOptionTypesFromImage), Caching: to.Ptr(armcompute.CachingTypesReadWrite),
		ManagedDisk: &armcompute.VirtualMachineScaleSetManagedDiskParameters{StorageAccountType: to.Ptr(armcompute.StorageAccountTypesPremiumLRS)},
	}
	if spec.OSDiskGiB > 0 {
		osDisk.DiskSizeGB = to.Ptr(int32(spec.OSDiskGiB))
	}
	prefix := "ik" + strings.ReplaceAll(s.Name, "-", "")
	if len(prefix) > 9 {
		prefix = prefix[:9]
	}
	profile := &armcompute.VirtualMachineScaleSetVMProfile{
		OSProfile: &armcompute.VirtualMachineScaleSetOSProfile{
			ComputerNamePrefix: to.Ptr(prefix), AdminUsername: to.Ptr(adminUser), CustomData: to.Ptr(custom),
			LinuxConfiguration: &armcompute.LinuxConfiguration{
				DisablePasswordAuthentication: to.Ptr(true),
				SSH: &armcompute.SSHConfiguration{PublicKeys: []*armcompute.SSHPublicKey{{
					Path: to.Ptr("/home/" + adminUser + "/.ssh/authorized_keys"), KeyData: to.Ptr(key),
				}}},
			},
		},
		// The same cloud-init, readable back (Azure never returns custom data): import and
		// routes read the applied spec from it.
		UserData:       to.Ptr(custom),
		StorageProfile: &armcompute.VirtualMachineScaleSetStorageProfile{ImageReference: img, OSDisk: osDisk},
		NetworkProfile: &armcompute.VirtualMachineScaleSetNetworkProfile{
			NetworkAPIVersion: to.Ptr(armcompute.NetworkAPIVersionTwoThousandTwenty1101),
			NetworkInterfaceConfigurations: []*armcompute.VirtualMachineScaleSetNetworkConfiguration{{
				Name: to.Ptr("nic"),
				Properties: &armcompute.VirtualMachineScaleSetNetworkConfigurationProperties{
					Primary:              to.Ptr(true),
					NetworkSecurityGroup: &armcompute.SubResource{ID: to.Ptr(cl.SecurityGroupID)},
					IPConfigurations: []*armcompute.VirtualMachineScaleSetIPConfiguration{{
						Name: to.Ptr("ip"),
						Properties: &armcompute.VirtualMachineScaleSetIPConfigurationProperties{
							Primary:                         to.Ptr(true),
							Subnet:                          &armcompute.APIEntityReference{ID: to.Ptr(spec.SubnetID)},
							LoadBalancerBackendAddressPools: []*armcompute.SubResource{{ID: to.Ptr(poolID)}},
						},
					}},
				},
			}},
		},
		ExtensionProfile: &armcompute.VirtualMachineScaleSetExtensionProfile{Extensions: []*armcompute.VirtualMachineScaleSetExtension{{
			Name: to.Ptr("health"),
			Properties: &armcompute.VirtualMachineScaleSetExtensionProperties{
				Publisher: to.Ptr("Microsoft.ManagedServices"), Type: to.Ptr("ApplicationHealthLinux"), TypeHandlerVersion: to.Ptr("2.0"),
				AutoUpgradeMinorVersion: to.Ptr(true),
				Settings:                map[string]any{"protocol": "http", "port": s.Settings.Port, "requestPath": "/health"},
			},
		}}},
	}
	if encryption || spec.TrustedLaunch {
		profile.SecurityProfile = &armcompute.SecurityProfile{}
		if encryption {
			profile.SecurityProfile.EncryptionAtHost = to.Ptr(true)
		}
		if spec.TrustedLaunch {
			profile.SecurityProfile.SecurityType = to.Ptr(armcompute.SecurityTypesTrustedLaunch)
			profile.SecurityProfile.UefiSettings = &armcompute.UefiSettings{SecureBootEnabled: to.Ptr(true), VTpmEnabled: to.Ptr(true)}
		}
	}
	props := &armcompute.VirtualMachineScaleSetProperties{
		OrchestrationMode:        to.Ptr(armcompute.OrchestrationModeFlexible),
		PlatformFaultDomainCount: to.Ptr[int32](1),
		UpgradePolicy: &armcompute.UpgradePolicy{
			Mode: to.Ptr(armcompute.UpgradeModeRolling),
			RollingUpgradePolicy: &armcompute.RollingUpgradePolicy{
				MaxBatchInstancePercent:             to.Ptr(int32(s.Settings.MaxBatchInstancePercent)),
				MaxUnhealthyInstancePercent:         to.Ptr(int32(s.Settings.MaxUnhealthyInstancePercent)),
				MaxUnhealthyUpgradedInstancePercent: to.Ptr(int32(s.Settings.MaxUnhealthyInstancePercent)),
				PauseTimeBetweenBatches:             to.Ptr("PT0S"),
			},
		},
		VirtualMachineProfile: profile,
	}
	if p := spec.Priority; p.SpotPercentage > 0 {
		profile.Priority = to.Ptr(armcompute.VirtualMachinePriorityTypesSpot)
		profile.EvictionPolicy = to.Ptr(armcompute.VirtualMachineEvictionPolicyTypes(p.EvictionPolicy))
		profile.BillingProfile = &armcompute.BillingProfile{MaxPrice: to.Ptr(p.MaxPrice)}
		props.PriorityMixPolicy = &armcompute.PriorityMixPolicy{
			BaseRegularPriorityCount:           to.Ptr[int32](0),
			RegularPriorityPercentageAboveBase: to.Ptr(int32(100 - p.SpotPercentage)),
		}
	}
	ss := armcompute.VirtualMachineScaleSet{
		Location: to.Ptr(cl.Location), Tags: tags,
		SKU: &armcompute.SKU{Name: to.Ptr(spec.VMSize), Tier: to.Ptr("Standard"), Capacity: to.Ptr(s.Replicas)},
		Identity: &armcompute.VirtualMachineScaleSetIdentity{
			Type:                   to.Ptr(armcompute.ResourceIdentityTypeUserAssigned),
			UserAssignedIdentities: map[string]*armcompute.UserAssignedIdentitiesValue{cl.IdentityID: {}},
		},
		Properties: props,
	}
	if len(spec.Zones) > 0 {
		ss.Zones = to.SliceOfPtrs(spec.Zones...)
	}
	return ss, nil
}

// sameModel says whether the scale set already is what want describes, in what the endpoint
// controls: capacity, size, the custom data (the spec), image, zones and tags.
func sameModel(have, want armcompute.VirtualMachineScaleSet) bool {
	if have.SKU == nil || have.Properties == nil || have.Properties.VirtualMachineProfile == nil {
		return false
	}
	hp, wp := have.Properties.VirtualMachineProfile, want.Properties.VirtualMachineProfile
	if deref(have.SKU.Capacity, -1) != deref(want.SKU.Capacity, -2) || !strings.EqualFold(str(have.SKU.Name), str(want.SKU.Name)) {
		return false
	}
	if str(hp.UserData) != str(wp.UserData) {
		return false
	}
	if hp.StorageProfile == nil || hp.StorageProfile.ImageReference == nil {
		return false
	}
	hi, wi := hp.StorageProfile.ImageReference, wp.StorageProfile.ImageReference
	if str(hi.ID) != str(wi.ID) || str(hi.Publisher) != str(wi.Publisher) || str(hi.Offer) != str(wi.Offer) || str(hi.SKU) != str(wi.SKU) || str(hi.Version) != str(wi.Version) {
		return false
	}
	if up := have.Properties.UpgradePolicy; up == nil || up.RollingUpgradePolicy == nil ||
		deref(up.RollingUpgradePolicy.MaxBatchInstancePercent, 0) != deref(want.Properties.UpgradePolicy.RollingUpgradePolicy.MaxBatchInstancePercent, 0) {
		return false
	}
	hz, wz := derefAll(have.Zones), derefAll(want.Zones)
	slices.Sort(hz)
	slices.Sort(wz)
	if !slices.Equal(hz, wz) {
		return false
	}
	return maps.EqualFunc(have.Tags, want.Tags, func(a, b *string) bool { return str(a) == str(b) })
}

func derefAll(l []*string) []string {
	out := make([]string, 0, len(l))
	for _, s := range l {
		if s != nil {
			out = append(out, *s)
		}
	}
	return out
}

// FindEndpoint reads the endpoint: its scale set (with the applied spec from its user data),
// its nodes' health, the latest rolling upgrade and its rule on the load balancer.
func (b *Backend) FindEndpoint(ctx context.Context, sub, group, cluster, name string) (*Endpoint, error) {
	c, sub, err := b.clientsFor(sub)
	if err != nil {
		return nil, err
	}
	clusterID := ClusterID(sub, group, cluster)
	out := &Endpoint{ID: backend.EndpointID(clusterID, name), ClusterID: clusterID, Name: name, ScaleSetName: ScaleSetName(cluster, name)}
	ss, err := c.scaleSets.Get(ctx, group, out.ScaleSetName, &armcompute.VirtualMachineScaleSetsClientGetOptions{Expand: to.Ptr(armcompute.ExpandTypesForGetVMScaleSetsUserData)})
	if err != nil {
		if isNotFound(err) {
			return nil, fmt.Errorf("model endpoint %s of cluster %s: %w", name, cluster, backend.ErrNotFound)
		}
		return nil, fmt.Errorf("reading scale set %s: %w", out.ScaleSetName, err)
	}
	out.ScaleSetID = str(ss.ID)
	if ss.SKU != nil {
		out.VMSize, out.Capacity = str(ss.SKU.Name), deref(ss.SKU.Capacity, 0)
	}
	out.Min, out.Max = out.Capacity, out.Capacity
	if b := strings.SplitN(str(ss.Tags[tagAutoscaling]), ":", 2); len(b) == 2 {
		out.Min, _ = strconv.ParseInt(b[0], 10, 64)
		out.Max, _ = strconv.ParseInt(b[1], 10, 64)
	}
	if p := ss.Properties; p != nil {
		if up := p.UpgradePolicy; up != nil && up.RollingUpgradePolicy != nil {
			out.Settings.MaxBatchInstancePercent = int64(deref(up.RollingUpgradePolicy.MaxBatchInstancePercent, 0))
			out.Settings.MaxUnhealthyInstancePercent = int64(deref(up.RollingUpgradePolicy.MaxUnhealthyInstancePercent, 0))
		}
		if vp := p.VirtualMachineProfile; vp != nil && vp.UserData != nil {
			if applied, err := appliedSpec(*vp.UserData, name); err == nil {
				out.Applied = applied
			}
		}
	}
	if err := b.readNodes(ctx, c, group, out); err != nil {
		return nil, err
	}
	if err := b.readUpgrade(ctx, c, group, out); err != nil {
		return nil, err
	}
	names := ResourceNames(sub, group, cluster)
	lb, err := c.lbs.Get(ctx, group, names.LoadBalancer, nil)
	switch {
	case err == nil:
		var cl Cluster
		readLoadBalancer(lb.LoadBalancer, &cl)
		out.Port = rulePort(lb.LoadBalancer, name)
		out.Settings.Port = out.Port
		if out.Port == 0 {
			out.Missing = append(out.Missing, "load balancer rule")
		} else if cl.PrivateIP != "" {
			out.URL = fmt.Sprintf("http://%s:%d/v1", cl.PrivateIP, out.Port)
		}
	case isNotFound(err):
		out.Missing = append(out.Missing, "load balancer rule")
	default:
		return nil, fmt.Errorf("reading load balancer %s: %w", names.LoadBalancer, err)
	}
	apiName, hfName := secretNames(name)
	out.VaultURI = ""
	if v, err := c.vaults.Get(ctx, group, names.Vault, nil); err == nil && v.Properties != nil {
		out.VaultURI = str(v.Properties.VaultURI)
		if _, err := c.secrets.Get(ctx, group, names.Vault, apiName, nil); err == nil {
			out.APIKeySecret = apiName
		} else if isNotFound(err) {
			out.Missing = append(out.Missing, "API key secret")
		} else {
			return nil, fmt.Errorf("reading secret %s: %w", apiName, err)
		}
		if _, err := c.secrets.Get(ctx, group, names.Vault, hfName, nil); err == nil {
			out.HFTokenSecret = hfName
		} else if !isNotFound(err) {
			return nil, fmt.Errorf("reading secret %s: %w", hfName, err)
		}
	} else if err != nil && !isNotFound(err) {
		return nil, fmt.Errorf("reading key vault %s: %w", names.Vault, err)
	}
	return out, nil
}

// rulePort is the frontend port of the endpoint's rule on the load balancer (0: no rule).
func rulePort(lb armnetwork.LoadBalancer, name string) int64 {
	if lb.Properties == nil {
		return 0
	}
	for _, r := range lb.Properties.LoadBalancingRules {
		if r != nil && str(r.Name) == name && r.Properties != nil {
			return int64(deref(r.Properties.FrontendPort, 0))
		}
	}
	return 0
}

// appliedSpec reads the spec from the scale set's user data (base64 of the gzip-compressed cloud-init).
func appliedSpec(userData, endpoint string) (*vllm.AppliedSpec, error) {
	raw, err := base64.StdEncoding.DecodeString(userData)
	if err != nil {
		return nil, err
	}
	text, err := vllm.ReadUserData(raw)
	if err != nil {
		return nil, err
	}
	js, err := vllm.SpecFromCloudInit(text, endpoint)
	if err != nil {
		return nil, err
	}
	s, err := vllm.ParseSpecJSON(js)
	if err != nil {
		return nil, err
	}
	return &s, nil
}

// readNodes lists the scale set's VMs with their instance view: the Application Health
// extension's verdict on each.
func (b *Backend) readNodes(ctx context.Context, c *clients, group string, e *Endpoint) error {
	filter := fmt.Sprintf("'virtualMachineScaleSet/id' eq '%s'", e.ScaleSetID)
	pager := c.vms.NewListPager(group, &armcompute.VirtualMachinesClientListOptions{Filter: &filter, Expand: to.Ptr(armcompute.ExpandTypeForListVMsInstanceView)})
	e.Nodes, e.Healthy = nil, 0
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("listing the VMs of scale set %s: %w", e.ScaleSetName, err)
		}
		for _, vm := range page.Value {
			if vm == nil {
				continue
			}
			if vm.Properties != nil && strings.EqualFold(str(vm.Properties.ProvisioningState), "Deleting") {
				continue
			}
			n := Node{Name: str(vm.Name), Health: "unknown"}
			if len(vm.Zones) > 0 {
				n.Zone = str(vm.Zones[0])
			}
			if p := vm.Properties; p != nil && p.InstanceView != nil && p.InstanceView.VMHealth != nil && p.InstanceView.VMHealth.Status != nil {
				n.Health = strings.ToLower(strings.TrimPrefix(str(p.InstanceView.VMHealth.Status.Code), "HealthState/"))
			}
			if n.Health == "healthy" {
				e.Healthy++
			}
			e.Nodes = append(e.Nodes, n)
		}
	}
	slices.SortFunc(e.Nodes, func(a, b Node) int { return strings.Compare(a.Name, b.Name) })
	return nil
}

// readUpgrade reads the latest rolling upgrade (none: Upgrade "").
func (b *Backend) readUpgrade(ctx context.Context, c *clients, group string, e *Endpoint) error {
	u, err := c.upgrades.GetLatest(ctx, group, e.ScaleSetName, nil)
	if err != nil {
		if isNotFound(err) {
			e.Upgrade, e.UpgradeDetail = "", ""
			return nil
		}
		return fmt.Errorf("reading the rolling upgrade of scale set %s: %w", e.ScaleSetName, err)
	}
	p := u.Properties
	if p == nil || p.RunningStatus == nil {
		return nil
	}
	e.Upgrade = string(deref(p.RunningStatus.Code, ""))
	if pr := p.Progress; pr != nil {
		e.UpgradeDetail = fmt.Sprintf("%d done, %d in progress, %d pending, %d failed", deref(pr.SuccessfulInstanceCount, 0),
			deref(pr.InProgressInstanceCount, 0), deref(pr.PendingInstanceCount, 0), deref(pr.FailedInstanceCount, 0))
	}
	if p.Error != nil && p.Error.Message != nil {
		e.UpgradeDetail += ": " + *p.Error.Message
	}
	return nil
}

// Ready says whether every node the scale set should have is healthy and no upgrade is rolling.
func (e *Endpoint) Ready() bool {
	return e.Capacity > 0 && e.Healthy >= e.Capacity && e.Upgrade != string(armcompute.RollingUpgradeStatusCodeRollingForward) &&
		e.Upgrade != string(armcompute.RollingUpgradeStatusCodeFaulted) && len(e.Missing) == 0
}

// WaitEndpointReady polls until every node is healthy and the latest rolling upgrade is done,
// within ctx; a faulted upgrade fails at once with Azure's reason.
func (b *Backend) WaitEndpointReady(ctx context.Context, sub, group, cluster, name string) (*Endpoint, error) {
	c, _, err := b.clientsFor(sub)
	if err != nil {
		return nil, err
	}
	// One whole read; each poll then asks only what changes while nodes come up: their health
	// and the rolling upgrade.
	last, err := b.FindEndpoint(ctx, sub, group, cluster, name)
	if err != nil {
		return nil, err
	}
	err = wait.Until(ctx, b.interval(10*time.Second), "model endpoint "+name+" to be ready", func(ctx context.Context) (bool, error, error) {
		e := *last
		if err := b.readNodes(ctx, c, group, &e); err != nil {
			return false, nil, err
		}
		if err := b.readUpgrade(ctx, c, group, &e); err != nil {
			return false, nil, err
		}
		if len(e.Nodes) == 0 {
			// No node yet, or no scale set any more: the whole read tells which.
			full, err := b.FindEndpoint(ctx, sub, group, cluster, name)
			if err != nil {
				return false, nil, err
			}
			e = *full
		}
		last = &e
		if e.Upgrade == string(armcompute.RollingUpgradeStatusCodeFaulted) {
			return false, nil, fmt.Errorf("the rolling upgrade of scale set %s stopped (%s): fix the cause (the nodes' /health, the image) and apply again", e.ScaleSetName, e.UpgradeDetail)
		}
		msg := fmt.Sprintf("%d of %d nodes healthy", e.Healthy, e.Capacity)
		if e.Upgrade == string(armcompute.RollingUpgradeStatusCodeRollingForward) {
			msg += "; rolling upgrade: " + e.UpgradeDetail
		}
		backend.Report(ctx, e.ScaleSetName, msg)
		if e.Ready() {
			return true, nil, nil
		}
		var notYet []string
		for _, n := range e.Nodes {
			if n.Health != "healthy" {
				notYet = append(notYet, n.Name+" "+n.Health)
			}
		}
		return false, fmt.Errorf("%s (not healthy: %s)", msg, listOrNone(notYet)), nil
	})
	return last, err
}

// DeleteEndpoint deletes the scale set (and waits), then the endpoint's rule, probe and pool on
// the load balancer, then its secrets (through the vault's data plane; a vault it cannot reach
// is a warning: the secrets go with the cluster's vault).
func (b *Backend) DeleteEndpoint(ctx context.Context, sub, group, cluster, name string) ([]string, error) {
	c, sub, err := b.clientsFor(sub)
	if err != nil {
		return nil, err
	}
	ssName := ScaleSetName(cluster, name)
	if _, err := started(c.scaleSets.BeginDelete(ctx, group, ssName, nil)).wait(ctx, b); err != nil && !isNotFound(err) {
		return nil, fmt.Errorf("deleting scale set %s: %w", ssName, err)
	}
	names := ResourceNames(sub, group, cluster)
	if err := b.removeEndpointTraffic(ctx, c, sub, group, names, name); err != nil {
		return nil, err
	}
	v, err := c.vaults.Get(ctx, group, names.Vault, nil)
	if err != nil {
		if isNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("reading key vault %s: %w", names.Vault, err)
	}
	var warnings []string
	if v.Properties == nil || v.Properties.VaultURI == nil {
		return nil, nil
	}
	data, err := c.secretsData(*v.Properties.VaultURI)
	if err != nil {
		return nil, err
	}
	apiName, hfName := secretNames(name)
	for _, s := range []string{apiName, hfName} {
		if _, err := c.secrets.Get(ctx, group, names.Vault, s, nil); isNotFound(err) {
			continue
		}
		if _, err := data.DeleteSecret(ctx, s, nil); err != nil && !isNotFound(err) {
			warnings = append(warnings, fmt.Sprintf("secret %s of vault %s could not be deleted (%s): it is deleted with the cluster's vault, "+
				"or delete it where the vault is reachable", s, names.Vault, shortError(err)))
		}
	}
	return warnings, nil
}

// removeEndpointTraffic takes the endpoint's rule, probe and pool off the load balancer.
func (b *Backend) removeEndpointTraffic(ctx context.Context, c *clients, sub, group string, names Names, name string) error {
	unlock := b.locks.lock(resourceID(sub, group, "Microsoft.Network", "loadBalancers", names.LoadBalancer))
	defer unlock()
	got, err := c.lbs.Get(ctx, group, names.LoadBalancer, nil)
	if err != nil {
		if isNotFound(err) {
			return nil
		}
		return fmt.Errorf("reading load balancer %s: %w", names.LoadBalancer, err)
	}
	lb := got.LoadBalancer
	p := lb.Properties
	if p == nil {
		return nil
	}
	n := len(p.LoadBalancingRules) + len(p.Probes) + len(p.BackendAddressPools)
	p.LoadBalancingRules = slices.DeleteFunc(p.LoadBalancingRules, func(r *armnetwork.LoadBalancingRule) bool { return r == nil || str(r.Name) == name })
	p.Probes = slices.DeleteFunc(p.Probes, func(r *armnetwork.Probe) bool { return r == nil || str(r.Name) == name })
	p.BackendAddressPools = slices.DeleteFunc(p.BackendAddressPools, func(r *armnetwork.BackendAddressPool) bool { return r == nil || str(r.Name) == name })
	if n == len(p.LoadBalancingRules)+len(p.Probes)+len(p.BackendAddressPools) {
		return nil
	}
	etag := str(lb.Etag)
	lb.Etag = nil
	if _, err := started(c.lbs.BeginCreateOrUpdate(ifMatch(ctx, etag), group, names.LoadBalancer, lb, nil)).wait(ctx, b); err != nil {
		return fmt.Errorf("removing endpoint %s from load balancer %s: %w", name, names.LoadBalancer, err)
	}
	return nil
}

// APIKey reads the endpoint's key from the vault's data plane (Azure Resource Manager never
// returns a secret's value): the caller must reach the vault.
func (b *Backend) APIKey(ctx context.Context, sub, group string, e *Endpoint) (string, error) {
	c, _, err := b.clientsFor(sub)
	if err != nil {
		return "", err
	}
	if e.VaultURI == "" || e.APIKeySecret == "" {
		return "", fmt.Errorf("model endpoint %s has no API key secret: apply it again: %w", e.Name, backend.ErrNotFound)
	}
	data, err := c.secretsData(e.VaultURI)
	if err != nil {
		return "", err
	}
	got, err := data.GetSecret(ctx, e.APIKeySecret, "", nil)
	if err != nil {
		return "", fmt.Errorf("reading the API key of model endpoint %s from %s (the vault's data plane must be reachable from where "+
			"Terraform runs: a private endpoint, or key_vault.public_network_access on the cluster): %w", e.Name, e.VaultURI, err)
	}
	if got.Value == nil {
		return "", errors.New("the API key secret has no value")
	}
	return *got.Value, nil
}
