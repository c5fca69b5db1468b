package aws

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
)

type backendGPUType = backend.GPUType

var _ backend.GPUCatalog = (*Backend)(nil)

// GPUTypes lists every instance type in region that carries GPUs (all pages of
// DescribeInstanceTypes), sorted by name.
func (b *Backend) GPUTypes(ctx context.Context, region string) ([]backend.GPUType, error) {
	client, err := b.EC2(ctx, region)
	if err != nil {
		return nil, err
	}
	var out []backend.GPUType
	p := ec2.NewDescribeInstanceTypesPaginator(client, &ec2.DescribeInstanceTypesInput{MaxResults: aws.Int32(100)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describing EC2 instance types: %w", err)
		}
		for _, it := range page.InstanceTypes {
			if t, ok := gpuType(it); ok {
				out = append(out, t)
			}
		}
	}
	sortByName(out)
	return out, nil
}

func gpuType(it ec2types.InstanceTypeInfo) (backend.GPUType, bool) {
	if it.GpuInfo == nil || len(it.GpuInfo.Gpus) == 0 {
		return backend.GPUType{}, false
	}
	g := it.GpuInfo.Gpus[0]
	t := backend.GPUType{
		Name:            string(it.InstanceType),
		GPUManufacturer: aws.ToString(g.Manufacturer),
		GPUModel:        aws.ToString(g.Name),
		GPUFraction:     1,
	}
	for _, gi := range it.GpuInfo.Gpus {
		t.GPUCount += int64(aws.ToInt32(gi.Count))
	}
	if g.MemoryInfo != nil {
		t.GPUMemoryMiB = int64(aws.ToInt32(g.MemoryInfo.SizeInMiB))
	}
	if it.VCpuInfo != nil {
		t.VCPUs = int64(aws.ToInt32(it.VCpuInfo.DefaultVCpus))
	}
	if it.MemoryInfo != nil {
		t.MemoryMiB = aws.ToInt64(it.MemoryInfo.SizeInMiB)
	}
	return t, true
}
