// Package pulumibridge is added to a copy of the upstream module: Go lets only packages inside a
// module import its internal/ packages, and the bridge needs the provider from internal/provider.
package pulumibridge

import (
	"github.com/hashicorp/terraform-plugin-sdk/v2/helper/schema"

	"github.com/terraform-providers/terraform-provider-docker/internal/provider"
)

// New returns the upstream SDKv2 provider (the resources and data sources Pulumi bridges).
func New(version string) *schema.Provider { return provider.New(version)() }
