package vllm

import "testing"

// BenchmarkNodeBundle renders everything a node needs (script, spec JSON, units, cloud-init)
// for a two-replica endpoint with every setting: the work a backend does per endpoint per apply.
func BenchmarkNodeBundle(b *testing.B) {
	spec := fullSpec()
	b.ReportAllocs()
	var size, sent int
	for b.Loop() {
		bundle, err := NodeBundle(spec)
		if err != nil {
			b.Fatal(err)
		}
		size = len(bundle.CloudInit)
		ud, err := AWSUserData(bundle.CloudInit)
		if err != nil {
			b.Fatal(err)
		}
		sent = len(ud)
	}
	b.ReportMetric(float64(size), "cloud-init-bytes")
	b.ReportMetric(float64(sent), "ec2-user-data-bytes")
	b.ReportMetric(float64(MaxAWSUserData), "ec2-user-data-limit")
}
