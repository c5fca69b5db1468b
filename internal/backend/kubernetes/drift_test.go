package kubernetes

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/inferstack/terraform-provider-inferstack/internal/vllm"
)

func TestTemplateDrift(t *testing.T) {
	applied := &appliedEngine{AppliedSpec: vllm.AppliedSpec{Model: "Qwen/Qwen2.5-7B-Instruct", Revision: "abc", ServedModelName: "qwen",
		Image: "vllm/vllm-openai:v0.30.0"}}
	tpl := func(image string, args ...string) corev1.PodTemplateSpec {
		return corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: ContainerName, Image: image, Args: args}}}}
	}
	good := []string{"Qwen/Qwen2.5-7B-Instruct", "--revision", "abc", "--served-model-name", "qwen", "--port", "8000"}
	for _, tc := range []struct {
		name string
		tpl  corev1.PodTemplateSpec
		want string
	}{
		{"as applied", tpl("vllm/vllm-openai:v0.30.0", good...), ""},
		{"image set", tpl("vllm/vllm-openai:latest", good...), "its image is"},
		{"revision edited", tpl("vllm/vllm-openai:v0.30.0", "Qwen/Qwen2.5-7B-Instruct", "--revision=main", "--served-model-name", "qwen"), "its --revision is \"main\""},
		{"served name removed", tpl("vllm/vllm-openai:v0.30.0", "Qwen/Qwen2.5-7B-Instruct", "--revision", "abc"), "its --served-model-name"},
		{"model swapped", tpl("vllm/vllm-openai:v0.30.0", append([]string{"other/model"}, good[1:]...)...), "no longer serves"},
		{"container gone", corev1.PodTemplateSpec{}, "container is gone"},
	} {
		got := templateDrift(tc.tpl, applied)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: templateDrift = %q, want %q", tc.name, got, tc.want)
		}
	}
	if got := templateDrift(tpl("x"), nil); got != "" {
		t.Errorf("without applied settings: %q", got)
	}
}
