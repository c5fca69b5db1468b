package provider_test

import (
	"testing"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest"
)

func TestMain(m *testing.M) { acctest.Main(m) }
