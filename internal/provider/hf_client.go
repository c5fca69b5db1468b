package provider

import (
	"sync"

	"github.com/inferstack/terraform-provider-inferstack/internal/hf"
)

// lazyHF holds the Hugging Face Hub client of one provider instance, built the first time a data
// source needs it: Configure makes no network call, and a configuration that never names a model
// never builds it.
type lazyHF struct {
	once   sync.Once
	client *hf.Client
	err    error
}

// HF returns the Hub client, built on first use from the provider's huggingface settings and
// shared by every data source of this provider instance. The client caches its lookups, so each
// model and revision is resolved once per run however many data sources ask for it; it retries
// 429 and 5xx answers itself, honouring Retry-After.
func (d *providerData) HF() (*hf.Client, error) {
	d.hf.once.Do(func() {
		d.hf.client, d.hf.err = hf.New(hf.Config{
			Endpoint:  d.HuggingFace.Endpoint,
			Token:     d.HuggingFace.Token,
			UserAgent: d.UserAgent,
		})
	})
	return d.hf.client, d.hf.err
}
