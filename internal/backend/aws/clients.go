package aws

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// cachedClient returns the client of svc for region ("" means the default region), building it
// with build on first use. Like EC2, clients are built lazily and cached per region.
func cachedClient[T any](ctx context.Context, b *Backend, svc, region string, build func(cfg aws.Config, region string, endpoint *string) T) (T, error) {
	var zero T
	cfg, err := b.awsConfig(ctx)
	if err != nil {
		return zero, err
	}
	region, err = b.region(cfg, region)
	if err != nil {
		return zero, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.clients == nil {
		b.clients = map[string]any{}
	}
	key := svc + "/" + region
	if c, ok := b.clients[key]; ok {
		return c.(T), nil
	}
	c := build(cfg, region, b.endpoint(svc))
	b.clients[key] = c
	return c, nil
}

// ResolveRegion is region, or the default region when region is "".
func (b *Backend) ResolveRegion(ctx context.Context, region string) (string, error) {
	cfg, err := b.awsConfig(ctx)
	if err != nil {
		return "", err
	}
	return b.region(cfg, region)
}

// IAM returns the cached IAM client for region's partition (IAM itself is global).
func (b *Backend) IAM(ctx context.Context, region string) (*iam.Client, error) {
	return cachedClient(ctx, b, "iam", region, func(cfg aws.Config, region string, ep *string) *iam.Client {
		return iam.NewFromConfig(cfg, func(o *iam.Options) {
			o.Region = region
			if ep != nil {
				o.BaseEndpoint = ep
			}
		})
	})
}

// ELBv2 returns the cached Elastic Load Balancing v2 client for region.
func (b *Backend) ELBv2(ctx context.Context, region string) (*elbv2.Client, error) {
	return cachedClient(ctx, b, "elasticloadbalancing", region, func(cfg aws.Config, region string, ep *string) *elbv2.Client {
		return elbv2.NewFromConfig(cfg, func(o *elbv2.Options) {
			o.Region = region
			if ep != nil {
				o.BaseEndpoint = ep
			}
		})
	})
}

// ServiceQuotas returns the cached Service Quotas client for region.
func (b *Backend) ServiceQuotas(ctx context.Context, region string) (*servicequotas.Client, error) {
	return cachedClient(ctx, b, "servicequotas", region, func(cfg aws.Config, region string, ep *string) *servicequotas.Client {
		return servicequotas.NewFromConfig(cfg, func(o *servicequotas.Options) {
			o.Region = region
			if ep != nil {
				o.BaseEndpoint = ep
			}
		})
	})
}

// SSM returns the cached Systems Manager client for region.
func (b *Backend) SSM(ctx context.Context, region string) (*ssm.Client, error) {
	return cachedClient(ctx, b, "ssm", region, func(cfg aws.Config, region string, ep *string) *ssm.Client {
		return ssm.NewFromConfig(cfg, func(o *ssm.Options) {
			o.Region = region
			if ep != nil {
				o.BaseEndpoint = ep
			}
		})
	})
}

// AutoScaling returns the cached Auto Scaling client for region.
func (b *Backend) AutoScaling(ctx context.Context, region string) (*autoscaling.Client, error) {
	return cachedClient(ctx, b, "autoscaling", region, func(cfg aws.Config, region string, ep *string) *autoscaling.Client {
		return autoscaling.NewFromConfig(cfg, func(o *autoscaling.Options) {
			o.Region = region
			if ep != nil {
				o.BaseEndpoint = ep
			}
		})
	})
}

// SecretsManager returns the cached Secrets Manager client for region.
func (b *Backend) SecretsManager(ctx context.Context, region string) (*secretsmanager.Client, error) {
	return cachedClient(ctx, b, "secretsmanager", region, func(cfg aws.Config, region string, ep *string) *secretsmanager.Client {
		return secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
			o.Region = region
			if ep != nil {
				o.BaseEndpoint = ep
			}
		})
	})
}
