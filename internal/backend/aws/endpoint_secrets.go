package aws

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// An endpoint's secrets live in Secrets Manager under the cluster's secrets prefix
// ("inferstack/<cluster>/"), the only secrets the nodes' role may read; the node script fetches
// them at boot with the instance's role. Values go to AWS and nowhere else: errors name the
// secret, never its value, and what the nodes get in user data is the secret's ARN and the id of
// its current version (a random id AWS gives each value).

// findSecret is the secret's metadata (nil when there is none).
func findSecret(ctx context.Context, client *secretsmanager.Client, name string) (*secretsmanager.DescribeSecretOutput, error) {
	out, err := client.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
	if err != nil {
		if hasCode(err, "ResourceNotFoundException") {
			return nil, nil
		}
		return nil, fmt.Errorf("reading secret %s: %w", name, err)
	}
	return out, nil
}

func smTagMap(tags []smtypes.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

func smTags(m map[string]string) []smtypes.Tag {
	out := make([]smtypes.Tag, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, smtypes.Tag{Key: aws.String(k), Value: aws.String(m[k])})
	}
	return out
}

// endpointSecret is one secret of an endpoint.
type endpointSecret struct {
	name, what        string // "inferstack/<cluster>/<endpoint>/api-key", "vLLM API key"
	cluster, endpoint string
	tags              map[string]string
	arn, version      string // set by ensure
}

// ensure makes the secret hold value, creating it when missing and restoring it when it is
// scheduled for deletion, and converges its tags. A value that changed gets a new version.
func (s *endpointSecret) ensure(ctx context.Context, client *secretsmanager.Client, value string) error {
	d, err := findSecret(ctx, client, s.name)
	if err != nil {
		return err
	}
	if d == nil {
		out, err := client.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
			Name:         aws.String(s.name),
			Description:  aws.String(fmt.Sprintf("inferstack endpoint %s of cluster %s: %s", s.endpoint, s.cluster, s.what)),
			SecretString: aws.String(value),
			Tags:         smTags(s.tags),
		})
		if err == nil {
			s.arn, s.version = aws.ToString(out.ARN), aws.ToString(out.VersionId)
			return nil
		}
		if !hasCode(err, "ResourceExistsException") {
			return fmt.Errorf("creating secret %s: %w", s.name, err)
		}
		if d, err = findSecret(ctx, client, s.name); err != nil || d == nil {
			return fmt.Errorf("creating secret %s: the name is taken, but it cannot be read (%v)", s.name, err)
		}
	}
	have := smTagMap(d.Tags)
	if !owned(have, s.cluster, s.endpoint) {
		return errNotEndpoints("secret", s.name, s.cluster, s.endpoint)
	}
	s.arn = aws.ToString(d.ARN)
	if d.DeletedDate != nil {
		if _, err := client.RestoreSecret(ctx, &secretsmanager.RestoreSecretInput{SecretId: aws.String(s.arn)}); err != nil {
			return fmt.Errorf("restoring secret %s, which was scheduled for deletion: %w", s.name, err)
		}
	}
	if err := s.putValue(ctx, client, value); err != nil {
		return err
	}
	return s.reconcileTags(ctx, client, have)
}

// putValue stores value as a new version unless it is the current one already.
func (s *endpointSecret) putValue(ctx context.Context, client *secretsmanager.Client, value string) error {
	cur, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(s.arn)})
	if err != nil && !hasCode(err, "ResourceNotFoundException") { // no current value yet: put one
		return fmt.Errorf("reading secret %s: %w", s.name, err)
	}
	if err == nil && aws.ToString(cur.SecretString) == value {
		s.version = aws.ToString(cur.VersionId)
		return nil
	}
	out, err := client.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(s.arn), SecretString: aws.String(value)})
	if err != nil {
		return fmt.Errorf("storing the new value of secret %s: %w", s.name, err)
	}
	s.version = aws.ToString(out.VersionId)
	return nil
}

func (s *endpointSecret) reconcileTags(ctx context.Context, client *secretsmanager.Client, have map[string]string) error {
	set, remove := tagDiff(have, s.tags)
	if len(remove) > 0 {
		if _, err := client.UntagResource(ctx, &secretsmanager.UntagResourceInput{SecretId: aws.String(s.arn), TagKeys: remove}); err != nil {
			return fmt.Errorf("untagging secret %s: %w", s.name, err)
		}
	}
	if len(set) > 0 {
		if _, err := client.TagResource(ctx, &secretsmanager.TagResourceInput{SecretId: aws.String(s.arn), Tags: smTags(set)}); err != nil {
			return fmt.Errorf("tagging secret %s: %w", s.name, err)
		}
	}
	return nil
}

// read is the secret's ARN when it is the endpoint's ("" when it is missing or not its).
func (s *endpointSecret) read(ctx context.Context, client *secretsmanager.Client) (string, error) {
	d, err := findSecret(ctx, client, s.name)
	if err != nil || d == nil || d.DeletedDate != nil || !owned(smTagMap(d.Tags), s.cluster, s.endpoint) {
		return "", err
	}
	return aws.ToString(d.ARN), nil
}

// delete removes the secret at once (no recovery window: the endpoint is gone, and a recreated
// endpoint must be able to use the name again) when it is the endpoint's.
func (s *endpointSecret) delete(ctx context.Context, client *secretsmanager.Client) error {
	arn, err := s.read(ctx, client)
	if err != nil || arn == "" {
		return err
	}
	if _, err := client.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{
		SecretId: aws.String(arn), ForceDeleteWithoutRecovery: aws.Bool(true),
	}); err != nil && !hasCode(err, "ResourceNotFoundException") {
		return fmt.Errorf("deleting secret %s: %w", s.name, err)
	}
	return nil
}

// secretsOf are the endpoint's API key and Hugging Face token secrets.
func secretsOf(cluster, endpoint string, tags map[string]string) (apiKey, hfToken *endpointSecret) {
	n := EndpointResourceNames(cluster, endpoint)
	return &endpointSecret{name: n.APIKeySecret, what: "vLLM API key", cluster: cluster, endpoint: endpoint, tags: tags},
		&endpointSecret{name: n.HFTokenSecret, what: "Hugging Face token", cluster: cluster, endpoint: endpoint, tags: tags}
}

// ensureSecrets stores the spec's API key, and its Hugging Face token or deletes the token's
// secret when there is none.
func ensureSecrets(ctx context.Context, client *secretsmanager.Client, s EndpointSpec, tags map[string]string) (endpointSecrets, error) {
	apiKey, hfToken := secretsOf(s.Cluster, s.Name, tags)
	if err := apiKey.ensure(ctx, client, s.APIKey); err != nil {
		return endpointSecrets{}, err
	}
	out := endpointSecrets{APIKeyARN: apiKey.arn, APIKeyVersion: apiKey.version}
	if s.HFToken == "" {
		return out, hfToken.delete(ctx, client)
	}
	if err := hfToken.ensure(ctx, client, s.HFToken); err != nil {
		return endpointSecrets{}, err
	}
	out.HFTokenARN, out.HFTokenVersion = hfToken.arn, hfToken.version
	return out, nil
}
