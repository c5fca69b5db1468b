package aws

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// ec2Page renders one DescribeInstanceTypes page in EC2's query-protocol XML.
func ec2Page(next string, items ...string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><DescribeInstanceTypesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><instanceTypeSet>`)
	for _, it := range items {
		b.WriteString(it)
	}
	b.WriteString(`</instanceTypeSet>`)
	if next != "" {
		fmt.Fprintf(&b, `<nextToken>%s</nextToken>`, next)
	}
	b.WriteString(`</DescribeInstanceTypesResponse>`)
	return b.String()
}

func gpuItem(name, gpu, maker string, count, memMiB, vcpus, hostMiB int) string {
	return fmt.Sprintf(`<item><instanceType>%s</instanceType><vCpuInfo><defaultVCpus>%d</defaultVCpus></vCpuInfo>`+
		`<memoryInfo><sizeInMiB>%d</sizeInMiB></memoryInfo><gpuInfo><gpus><item><name>%s</name><manufacturer>%s</manufacturer>`+
		`<count>%d</count><memoryInfo><sizeInMiB>%d</sizeInMiB></memoryInfo></item></gpus></gpuInfo></item>`,
		name, vcpus, hostMiB, gpu, maker, count, memMiB)
}

func cpuItem(name string) string {
	return fmt.Sprintf(`<item><instanceType>%s</instanceType><vCpuInfo><defaultVCpus>2</defaultVCpus></vCpuInfo></item>`, name)
}

// TestGPUTypesPaging proves every page is read (moto answers in one page, so the acceptance
// tests cannot) and that non-GPU types are dropped and the rest sorted by name.
func TestGPUTypesPaging(t *testing.T) {
	t.Parallel()
	pages := map[string]string{
		"":   ec2Page("p2", gpuItem("p5.48xlarge", "H100", "NVIDIA", 8, 81920, 192, 2097152), cpuItem("m5.large")),
		"p2": ec2Page("p3", cpuItem("c5.large")),
		"p3": ec2Page("", gpuItem("g6.xlarge", "L4", "NVIDIA", 1, 22888, 4, 16384)),
	}
	var mu sync.Mutex
	var tokens []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		v, _ := url.ParseQuery(string(body))
		if v.Get("Action") != "DescribeInstanceTypes" {
			http.Error(w, "unexpected action "+v.Get("Action"), http.StatusBadRequest)
			return
		}
		mu.Lock()
		tokens = append(tokens, v.Get("NextToken"))
		mu.Unlock()
		w.Header().Set("Content-Type", "text/xml")
		_, _ = io.WriteString(w, pages[v.Get("NextToken")])
	}))
	defer srv.Close()

	b := New(Config{Region: "us-east-1", AccessKey: "k", SecretKey: "s", Endpoints: map[string]string{"ec2": srv.URL}, MaxAttempts: 1})
	got, err := b.GPUTypes(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"", "p2", "p3"}; fmt.Sprint(tokens) != fmt.Sprint(want) {
		t.Errorf("NextToken sequence = %q, want %q", tokens, want)
	}
	if len(got) != 2 || got[0].Name != "g6.xlarge" || got[1].Name != "p5.48xlarge" {
		t.Fatalf("got %+v, want g6.xlarge then p5.48xlarge", got)
	}
	p5 := got[1]
	if p5.GPUModel != "H100" || p5.GPUManufacturer != "NVIDIA" || p5.GPUCount != 8 || p5.GPUMemoryMiB != 81920 || p5.VCPUs != 192 || p5.MemoryMiB != 2097152 || p5.GPUFraction != 1 {
		t.Errorf("p5.48xlarge = %+v", p5)
	}
}

func TestNoRegion(t *testing.T) {
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	b := New(Config{AccessKey: "k", SecretKey: "s"})
	_, err := b.GPUTypes(context.Background(), "")
	if err == nil || !strings.Contains(err.Error(), "no AWS region") {
		t.Fatalf("err = %v, want a no-region error", err)
	}
}

func TestUserAgentVersion(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"terraform-provider-inferstack/1.2.3": "1.2.3", "": "dev"} {
		if got := versionOf(in); got != want {
			t.Errorf("versionOf(%q) = %q, want %q", in, got, want)
		}
	}
}
