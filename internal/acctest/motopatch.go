package acctest

import (
	"os"
	"path/filepath"
	"strings"
)

// motoPatches fixes two places where moto 5.2 differs from AWS in what the AWS backend relies
// on. They cannot be answered by the proxy (both are about state moto keeps), so moto_server loads
// them at start as sitecustomize (PYTHONPATH points at the directory holding it):
//
//   - CreateLaunchTemplateVersion keeps UserData as a plain string (CreateLaunchTemplate parses
//     it), and launching from that version then fails an assertion (HTTP 500): an Auto Scaling
//     group on a second template version could never launch. The fix parses it as
//     CreateLaunchTemplate does.
//   - DescribeLaunchTemplates answers the tags a template had when it was made, not those
//     CreateTags and DeleteTags set later. The fix reads them from EC2's tag store, as
//     DescribeTags and the tag: filters already do.
//
// A patch that no longer applies (another moto) is reported in moto's log and skipped, so moto
// still starts and the tests that need it fail on their own assertions.
const motoPatches = `# inferstack test lab: fixes of moto where it differs from AWS (see internal/acctest/motopatch.go).
import sys


def _inferstack_patch():
    from moto.ec2.models import launch_templates as lt
    from moto.ec2.utils import parse_user_data

    create_version = lt.LaunchTemplate.create_version

    def _create_version(self, data, description):
        user_data = data.get("UserData") if isinstance(data, dict) else None
        if isinstance(user_data, (str, bytes)):
            data = dict(data)
            data["UserData"] = parse_user_data(user_data)
        return create_version(self, data, description)

    lt.LaunchTemplate.create_version = _create_version
    lt.LaunchTemplate.tags = property(lambda self: self.get_tags(), lambda self, value: None)


try:
    _inferstack_patch()
except Exception as e:  # never keep moto from starting
    print("inferstack: moto patch not applied: %r" % (e,), file=sys.stderr)
`

// writeMotoPatches writes motoPatches as dir/sitecustomize.py and returns the PYTHONPATH that
// makes moto_server load it.
func writeMotoPatches(dir string) (string, error) {
	if err := os.WriteFile(filepath.Join(dir, "sitecustomize.py"), []byte(motoPatches), 0o644); err != nil {
		return "", err
	}
	path := []string{dir}
	if p := os.Getenv("PYTHONPATH"); p != "" {
		path = append(path, p)
	}
	return strings.Join(path, string(os.PathListSeparator)), nil
}
