package aws

import (
	"errors"
	"fmt"
	"slices"

	"github.com/aws/smithy-go"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
)

// errorCode is the AWS error code in err ("" when err is not an AWS API error).
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func hasCode(err error, codes ...string) bool {
	c := errorCode(err)
	return c != "" && slices.Contains(codes, c)
}

// notFoundCodes are the codes of the calls this package makes that mean "no such object".
var notFoundCodes = []string{
	"InvalidGroup.NotFound", "InvalidSubnetID.NotFound", "InvalidVpcID.NotFound",
	"InvalidAMIID.NotFound", "InvalidCapacityReservationId.NotFound",
	"LoadBalancerNotFound", "NoSuchEntity", "ParameterNotFound", "NoSuchResourceException",
	"InvalidLaunchTemplateId.NotFound", "InvalidLaunchTemplateName.NotFoundException",
	"TargetGroupNotFound", "ListenerNotFound", "ResourceNotFoundException",
}

// IsNotFound reports whether err says the AWS object asked for does not exist, either as the
// domain's backend.ErrNotFound or as one of AWS's not-found error codes.
func IsNotFound(err error) bool {
	return backend.IsNotFound(err) || hasCode(err, notFoundCodes...)
}

func notFound(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), backend.ErrNotFound)
}

// apiMessage is the AWS error message in err, or err's text.
func apiMessage(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorMessage() != "" {
		return ae.ErrorMessage()
	}
	return err.Error()
}
