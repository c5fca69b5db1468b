package provider_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest"
)

const gpuTypesAddr = "data.inferstack_gpu_types.test"

func TestAccGPUTypesDataSource_aws(t *testing.T) {
	t.Parallel()
	lab := acctest.AWS(t)
	before := lab.Proxy.CountRegion("us-east-1", "ec2", "DescribeInstanceTypes")

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		Steps: []resource.TestStep{{
			Config: lab.ProviderConfig() + `
data "inferstack_gpu_types" "test" {
  cloud              = "aws"
  region             = "us-east-1"
  min_gpu_memory_gib = 40
  gpu_manufacturer   = "NVIDIA"
}`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(gpuTypesAddr, tfjsonpath.New("types"), knownvalue.ListPartial(map[int]knownvalue.Check{})),
			},
			Check: resource.ComposeAggregateTestCheckFunc(
				checkGPUType(gpuTypesAddr, "g6e.12xlarge", map[string]string{
					"gpu_model": "L40S", "gpu_manufacturer": "NVIDIA", "gpu_count": "4", "gpu_memory_mib": "45776",
					"vcpus": "48", "memory_mib": "393216", "gpu_fraction": "1",
				}),
				checkGPUType(gpuTypesAddr, "p5.48xlarge", map[string]string{"gpu_model": "H100", "gpu_count": "8", "gpu_memory_mib": "81920"}),
				checkNoGPUType(gpuTypesAddr, "g6.xlarge"),     // L4, 24 GiB: below the 40 GiB floor
				checkNoGPUType(gpuTypesAddr, "g4ad.16xlarge"), // AMD
				checkNoGPUType(gpuTypesAddr, "m5.large"),      // no GPU
				checkSortedByName(gpuTypesAddr),
				func(*terraform.State) error {
					// The catalogue really came from moto, through the proxy (moto ignores
					// MaxResults and answers in one page; paging is covered by the backend's
					// unit test).
					if n := lab.Proxy.CountRegion("us-east-1", "ec2", "DescribeInstanceTypes") - before; n < 1 {
						return fmt.Errorf("DescribeInstanceTypes reached the AWS lab %d times", n)
					}
					return nil
				},
			),
		}},
	})
}

func TestAccGPUTypesDataSource_awsThrottled(t *testing.T) {
	t.Parallel()
	lab := acctest.AWS(t)
	// Throttling, a 5xx and a dropped connection on the catalogue call are retried by the
	// client; the read succeeds. The faults are scoped to this test's region.
	const region = "us-west-2"
	for _, k := range []acctest.FaultKind{acctest.Throttle, acctest.Throttle, acctest.ServerError, acctest.Drop} {
		lab.Proxy.Inject(acctest.Fault{Region: region, Service: "ec2", Operation: "DescribeInstanceTypes", Kind: k, Times: 1})
	}

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		Steps: []resource.TestStep{{
			Config: lab.ProviderConfig() + `
data "inferstack_gpu_types" "test" {
  cloud         = "aws"
  region        = "us-west-2"
  min_gpu_count = 8
}`,
			Check: resource.ComposeAggregateTestCheckFunc(
				func(*terraform.State) error {
					// Four faulted attempts, then the one that succeeded.
					if n := lab.Proxy.CountRegion(region, "ec2", "DescribeInstanceTypes"); n < 5 {
						return fmt.Errorf("DescribeInstanceTypes reached the proxy %d times, want at least 5 (4 faults + 1)", n)
					}
					return nil
				},
				checkGPUType(gpuTypesAddr, "p4d.24xlarge", map[string]string{"gpu_model": "A100", "gpu_count": "8", "gpu_memory_mib": "40960"}),
				checkNoGPUType(gpuTypesAddr, "g6e.12xlarge"), // 4 GPUs
			),
		}},
	})
}

func TestAccGPUTypesDataSource_azure(t *testing.T) {
	t.Parallel()
	az := acctest.NewAzureLab()
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(az.ProviderOption()),
		Steps: []resource.TestStep{{
			Config: `
provider "inferstack" {
  azure {
    subscription_id = "00000000-0000-0000-0000-000000000000"
  }
}
data "inferstack_gpu_types" "test" {
  cloud              = "azure"
  region             = "eastus"
  min_gpu_memory_gib = 20
}`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(gpuTypesAddr, tfjsonpath.New("types"), knownvalue.ListSizeExact(8)),
				statecheck.ExpectKnownValue(gpuTypesAddr, tfjsonpath.New("types").AtSliceIndex(0), knownvalue.ObjectExact(map[string]knownvalue.Check{
					"name":             knownvalue.StringExact("Standard_NC24ads_A100_v4"),
					"gpu_manufacturer": knownvalue.StringExact("NVIDIA"),
					"gpu_model":        knownvalue.StringExact("A100 80GB"),
					"gpu_count":        knownvalue.Int64Exact(1),
					"gpu_fraction":     knownvalue.Float64Exact(1),
					"gpu_memory_mib":   knownvalue.Int64Exact(81920),
					"vcpus":            knownvalue.Int64Exact(24),
					"memory_mib":       knownvalue.Int64Exact(220 * 1024),
				})),
			},
			Check: resource.ComposeAggregateTestCheckFunc(
				checkGPUType(gpuTypesAddr, "Standard_NC40ads_H100_v5", map[string]string{"gpu_model": "H100 NVL", "gpu_memory_mib": "96256"}),
				checkGPUType(gpuTypesAddr, "Standard_ND96isr_H100_v5", map[string]string{"gpu_model": "H100", "gpu_count": "8"}),
				checkNoGPUType(gpuTypesAddr, "Standard_ND96isr_H200_v5"), // restricted for the subscription
				checkNoGPUType(gpuTypesAddr, "Standard_NV6ads_A10_v5"),   // a 4 GiB vGPU partition
				checkNoGPUType(gpuTypesAddr, "Standard_D4s_v5"),          // no GPU
				func(*terraform.State) error {
					filters, pages := az.Calls()
					if len(filters) == 0 || filters[0] != "location eq 'eastus'" {
						return fmt.Errorf("resource SKUs were listed with filters %q, want location eq 'eastus'", filters)
					}
					if want := (len(acctest.AzureSKUs()) + acctest.SKUPageSize - 1) / acctest.SKUPageSize; pages < want {
						return fmt.Errorf("served %d pages, want at least %d", pages, want)
					}
					return nil
				},
			),
		}},
	})
}

func TestAccGPUTypesDataSource_badInput(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		config string
		want   string
	}{
		"unknown cloud":   {`cloud = "gcp"`, `(?s)Attribute cloud value must be one of.*"gcp"`},
		"negative memory": {`cloud = "aws"` + "\n" + `min_gpu_memory_gib = -1`, `(?s)Attribute min_gpu_memory_gib value must be at least 0`},
		"zero gpu count":  {`cloud = "aws"` + "\n" + `min_gpu_count = 0`, `(?s)Attribute min_gpu_count value must be at least 1`},
		"azure no region": {`cloud = "azure"`, `(?s)region is required when cloud = "azure"`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			resource.Test(t, resource.TestCase{
				PreCheck:                 func() { acctest.PreCheck(t) },
				ProtoV6ProviderFactories: acctest.ProviderFactories(),
				Steps: []resource.TestStep{{
					Config:      "data \"inferstack_gpu_types\" \"test\" {\n" + tc.config + "\n}",
					PlanOnly:    true,
					ExpectError: regexp.MustCompile(tc.want),
				}},
			})
		})
	}
}

// checkGPUType finds the element of types named name and checks its attributes.
func checkGPUType(addr, name string, want map[string]string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		attrs, err := gpuTypeAttrs(s, addr)
		if err != nil {
			return err
		}
		for i, a := range attrs {
			if a["name"] != name {
				continue
			}
			for k, v := range want {
				if a[k] != v {
					return fmt.Errorf("%s types[%d] (%s): %s = %q, want %q", addr, i, name, k, a[k], v)
				}
			}
			return nil
		}
		return fmt.Errorf("%s: no type named %s among %d", addr, name, len(attrs))
	}
}

func checkNoGPUType(addr, name string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		attrs, err := gpuTypeAttrs(s, addr)
		if err != nil {
			return err
		}
		for _, a := range attrs {
			if a["name"] == name {
				return fmt.Errorf("%s: %s is listed but should have been filtered out", addr, name)
			}
		}
		return nil
	}
}

func checkSortedByName(addr string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		attrs, err := gpuTypeAttrs(s, addr)
		if err != nil {
			return err
		}
		for i := 1; i < len(attrs); i++ {
			if attrs[i-1]["name"] >= attrs[i]["name"] {
				return fmt.Errorf("%s: types not sorted by name: %s before %s", addr, attrs[i-1]["name"], attrs[i]["name"])
			}
		}
		return nil
	}
}

func gpuTypeAttrs(s *terraform.State, addr string) ([]map[string]string, error) {
	rs, ok := s.RootModule().Resources[addr]
	if !ok {
		return nil, fmt.Errorf("%s not in state", addr)
	}
	var out []map[string]string
	for k, v := range rs.Primary.Attributes {
		var i int
		var field string
		if n, _ := fmt.Sscanf(k, "types.%d.", &i); n != 1 {
			continue
		}
		field = k[strings.Index(k[len("types."):], ".")+len("types.")+1:]
		for len(out) <= i {
			out = append(out, map[string]string{})
		}
		out[i][field] = v
	}
	return out, nil
}
