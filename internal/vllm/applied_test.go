package vllm

import (
	"reflect"
	"testing"
)

// TestParseSpecJSONRoundTrip: the settings an endpoint was rendered with come back out of its spec
// JSON (what import and a gateway route read, on a host or from cloud user data).
func TestParseSpecJSONRoundTrip(t *testing.T) {
	t.Parallel()
	spec := fullSpec()
	b, err := NodeBundle(spec)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseSpecJSON(b.SpecJSON)
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	want := AppliedSpec{
		Model: spec.Model.ID, Revision: spec.Model.Revision, ServedModelName: spec.ServedModelName, Image: spec.Engine.Image,
		TensorParallelSize: 2, PipelineParallelSize: 0 /* vLLM's default 1 is not rendered */, MaxModelLen: 32768, MaxNumSeqs: 64, GPUMemoryUtilization: 0.9,
		DType: "bfloat16", Quantization: "fp8", KVCacheDType: "fp8", EnablePrefixCaching: &yes,
		ExtraArgs: spec.Engine.ExtraArgs, Replicas: 2,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseSpecJSON =\n%+v\nwant\n%+v", got, want)
	}
	if _, err := ParseSpecJSON([]byte("not json")); err == nil {
		t.Error("ParseSpecJSON accepted what is not JSON")
	}
}
