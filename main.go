// Command terraform-provider-inferstack serves the inferstack Terraform provider over
// plugin protocol 6.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/inferstack/terraform-provider-inferstack/internal/provider"
)

// version is set by the linker (-X main.version=...): by `make build` from VERSION and by
// GoReleaser from the release tag. The provider sends it in its User-Agent.
var version = "dev"

func main() {
	var debug, showVersion bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers like delve")
	flag.BoolVar(&showVersion, "version", false, "print the provider's version and exit")
	flag.Parse()

	// -version answers without serving, so an operator (or the release check) can ask a
	// binary taken out of a mirror or a release zip which version it is.
	if showVersion {
		fmt.Println("terraform-provider-inferstack " + version)
		return
	}

	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address:         "registry.terraform.io/inferstack/inferstack",
		Debug:           debug,
		ProtocolVersion: 6,
	})
	if err != nil {
		log.Fatal(err.Error())
	}
}
