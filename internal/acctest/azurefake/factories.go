package azurefake

import (
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	authfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2/fake"
	computefake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7/fake"
	keyvaultfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault/fake"
	msifake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi/fake"
	networkfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7/fake"
	resourcesfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/fake"
)

func (c *Cloud) newTransports() transports {
	return transports{
		resources:     resourcesfake.NewServerFactoryTransport(c.resourcesServer()),
		network:       networkfake.NewServerFactoryTransport(c.networkServer()),
		msi:           msifake.NewServerFactoryTransport(c.msiServer()),
		keyvault:      keyvaultfake.NewServerFactoryTransport(c.keyvaultServer()),
		authorization: authfake.NewServerFactoryTransport(c.authorizationServer()),
		compute:       computefake.NewServerFactoryTransport(c.computeServer()),
		secrets:       map[string]policy.Transporter{},
	}
}
