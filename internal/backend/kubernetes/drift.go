package kubernetes

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// templateDrift says how a pod template's vLLM container differs from the settings it was
// applied with (the template's AnnotationSpec), "" when it does not: an edit made outside
// Terraform (kubectl set image, kubectl edit of the arguments). The read reports such an object
// as missing, so the next apply applies it again (server-side apply with force takes the fields
// back). Fields inferstack never sets are another manager's and are left alone.
func templateDrift(tpl corev1.PodTemplateSpec, applied *appliedEngine) string {
	if applied == nil {
		return ""
	}
	i := slices.IndexFunc(tpl.Spec.Containers, func(c corev1.Container) bool { return c.Name == ContainerName })
	if i < 0 {
		return fmt.Sprintf("its %s container is gone", ContainerName)
	}
	c := tpl.Spec.Containers[i]
	if applied.Image != "" && c.Image != applied.Image {
		return fmt.Sprintf("its image is %q, not %q", c.Image, applied.Image)
	}
	want := map[string]string{"--revision": applied.Revision, "--served-model-name": applied.ServedModelName}
	for flag, v := range want {
		if v == "" {
			continue
		}
		if got, ok := argValue(c.Args, flag); !ok || got != v {
			return fmt.Sprintf("its %s is %q, not %q", flag, got, v)
		}
	}
	if applied.Model != "" && (len(c.Args) == 0 || c.Args[0] != applied.Model) {
		return fmt.Sprintf("it no longer serves %s", applied.Model)
	}
	return ""
}

// argValue is the value of flag in args ("--flag value" or "--flag=value").
func argValue(args []string, flag string) (string, bool) {
	for i, a := range args {
		if a == flag && i+1 < len(args) {
			return args[i+1], true
		}
		if v, ok := strings.CutPrefix(a, flag+"="); ok {
			return v, true
		}
	}
	return "", false
}
