// Package aws is the AWS backend: aws-sdk-go-v2 clients, built lazily per region and cached, and
// the calls the provider's resources and data sources make.
package aws

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"
)

// Config is what the provider's aws block (and the environment, through the SDK) says.
type Config struct {
	Region                 string
	Profile                string
	AccessKey              string
	SecretKey              string
	SharedConfigFiles      []string
	SharedCredentialsFiles []string
	MaxAttempts            int               // 0: AWS_MAX_ATTEMPTS, then DefaultMaxAttempts
	AssumeRoleARN          string            // optional role to assume with STS
	Endpoints              map[string]string // service id -> URL
	UserAgent              string            // "terraform-provider-inferstack/<version>"
	HTTPClient             *http.Client      // optional
}

// DefaultMaxAttempts is the attempts per call for throttling and transient errors; provisioning
// runs for minutes, so it is generous like the AWS provider's.
const DefaultMaxAttempts = 25

var endpointServices = []string{"autoscaling", "ec2", "elasticloadbalancing", "iam", "pricing", "secretsmanager", "servicequotas", "ssm", "sts"}

// EndpointServices lists the service ids Config.Endpoints accepts.
func EndpointServices() []string { return slices.Clone(endpointServices) }

// KnownEndpointService reports whether svc is a service id Config.Endpoints accepts.
func KnownEndpointService(svc string) bool { return slices.Contains(endpointServices, svc) }

// Backend builds and caches AWS clients. It is safe for concurrent use.
type Backend struct {
	cfg Config

	once    sync.Once
	base    aws.Config
	baseErr error

	mu      sync.Mutex
	ec2s    map[string]*ec2.Client
	clients map[string]any // "<service>/<region>" -> client, for the services in clients.go
}

// New returns a Backend; nothing is loaded or called until the first client is needed.
func New(cfg Config) *Backend {
	return &Backend{cfg: cfg, ec2s: map[string]*ec2.Client{}}
}

// DefaultRegion is the configured region, if any (the SDK may still find one in the environment).
func (b *Backend) DefaultRegion() string { return b.cfg.Region }

func (b *Backend) awsConfig(ctx context.Context) (aws.Config, error) {
	b.once.Do(func() {
		opts := []func(*config.LoadOptions) error{
			config.WithAPIOptions([]func(*middleware.Stack) error{
				awsmiddleware.AddUserAgentKeyValue("terraform-provider-inferstack", versionOf(b.cfg.UserAgent)),
			}),
		}
		if b.cfg.Region != "" {
			opts = append(opts, config.WithRegion(b.cfg.Region))
		}
		if b.cfg.Profile != "" {
			opts = append(opts, config.WithSharedConfigProfile(b.cfg.Profile))
		}
		if len(b.cfg.SharedConfigFiles) > 0 {
			opts = append(opts, config.WithSharedConfigFiles(b.cfg.SharedConfigFiles))
		}
		if len(b.cfg.SharedCredentialsFiles) > 0 {
			opts = append(opts, config.WithSharedCredentialsFiles(b.cfg.SharedCredentialsFiles))
		}
		if b.cfg.AccessKey != "" {
			opts = append(opts, config.WithCredentialsProvider(
				credentials.NewStaticCredentialsProvider(b.cfg.AccessKey, b.cfg.SecretKey, "")))
		}
		if b.cfg.HTTPClient != nil {
			opts = append(opts, config.WithHTTPClient(b.cfg.HTTPClient))
		}
		attempts := b.cfg.MaxAttempts
		opts = append(opts, config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				if attempts > 0 {
					o.MaxAttempts = attempts
				} else if o.MaxAttempts <= retry.DefaultMaxAttempts {
					o.MaxAttempts = DefaultMaxAttempts
				}
				// Throttling during a large apply is expected; do not let the client-side
				// token bucket turn it into a failure.
				o.RateLimiter = ratelimit.None
			})
		}))
		cfg, err := config.LoadDefaultConfig(ctx, opts...)
		if err != nil {
			b.baseErr = fmt.Errorf("loading AWS configuration: %w", err)
			return
		}
		if b.cfg.AssumeRoleARN != "" {
			stsClient := sts.NewFromConfig(cfg, func(o *sts.Options) { o.BaseEndpoint = b.endpoint("sts") })
			cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(stsClient, b.cfg.AssumeRoleARN,
				func(o *stscreds.AssumeRoleOptions) { o.RoleSessionName = "terraform-provider-inferstack" }))
		}
		b.base = cfg
	})
	return b.base, b.baseErr
}

func (b *Backend) endpoint(svc string) *string {
	if u, ok := b.cfg.Endpoints[svc]; ok && u != "" {
		return aws.String(u)
	}
	return nil
}

func (b *Backend) region(cfg aws.Config, region string) (string, error) {
	if region != "" {
		return region, nil
	}
	if cfg.Region != "" {
		return cfg.Region, nil
	}
	return "", errors.New("no AWS region: set region on the resource or data source, region in the provider's aws block, or AWS_REGION")
}

// EC2 returns the cached EC2 client for region ("" means the default region).
func (b *Backend) EC2(ctx context.Context, region string) (*ec2.Client, error) {
	cfg, err := b.awsConfig(ctx)
	if err != nil {
		return nil, err
	}
	region, err = b.region(cfg, region)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if c, ok := b.ec2s[region]; ok {
		return c, nil
	}
	c := ec2.NewFromConfig(cfg, func(o *ec2.Options) {
		o.Region = region
		if ep := b.endpoint("ec2"); ep != nil {
			o.BaseEndpoint = ep
		}
	})
	b.ec2s[region] = c
	return c, nil
}

func versionOf(userAgent string) string {
	for i := len(userAgent) - 1; i >= 0; i-- {
		if userAgent[i] == '/' {
			return userAgent[i+1:]
		}
	}
	return "dev"
}

func sortByName(ts []backendGPUType) {
	sort.Slice(ts, func(i, j int) bool { return ts[i].Name < ts[j].Name })
}
