// Package info maps the upstream Terraform Docker provider onto the tokens and property names of
// the published @pulumi/docker SDK, which is pre-generated and so fixes them.
package info

import (
	"unicode"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"

	"github.com/terraform-providers/terraform-provider-docker/pulumibridge"
)

// Version is set with -ldflags "-X jaffle-shop-streaming/docker-provider/info.Version=...".
var Version = "0.0.1-dev"

func resource(name string) tokens.Type {
	return tokens.Type("docker:index/" + lowerFirst(name) + ":" + name)
}

func dataSource(name string) tokens.ModuleMember {
	return tokens.ModuleMember("docker:index/" + lowerFirst(name) + ":" + name)
}

func lowerFirst(s string) string { return string(unicode.ToLower(rune(s[0]))) + s[1:] }

func Provider() tfbridge.ProviderInfo {
	prov := tfbridge.ProviderInfo{
		P:           shimv2.NewProvider(pulumibridge.New(Version)),
		Name:        "docker",
		Version:     Version,
		DisplayName: "Docker",
		Description: "Docker resources: a local build bridging kreuzwerker/terraform-provider-docker.",
		License:     "Apache-2.0",
		GitHubOrg:   "kreuzwerker",
		Config: map[string]*tfbridge.SchemaInfo{
			"host": {Default: &tfbridge.DefaultInfo{Value: "unix:///var/run/docker.sock", EnvVars: []string{"DOCKER_HOST"}}},
			// A list in the SDK, but named in the singular.
			"registry_auth": {Name: "registryAuth", MaxItemsOne: tfbridge.False()},
		},
		Resources: map[string]*tfbridge.ResourceInfo{
			"docker_container": {
				Tok: resource("Container"),
				// Container names are unique per host, so a replacement must go first.
				DeleteBeforeReplace: true,
				Fields: map[string]*tfbridge.SchemaInfo{
					// One command (argv), not several: the SDK keeps the singular.
					"command":           {Name: "command"},
					"networks_advanced": {Name: "networksAdvanced"},
				},
			},
			"docker_image":          {Tok: resource("RemoteImage"), Fields: map[string]*tfbridge.SchemaInfo{"name": {Name: "name"}}},
			"docker_network":        {Tok: resource("Network")},
			"docker_volume":         {Tok: resource("Volume")},
			"docker_config":         {Tok: resource("ServiceConfig")},
			"docker_secret":         {Tok: resource("Secret")},
			"docker_service":        {Tok: resource("Service")},
			"docker_plugin":         {Tok: resource("Plugin")},
			"docker_registry_image": {Tok: resource("RegistryImage")},
			"docker_tag":            {Tok: resource("Tag")},
			"docker_buildx_builder": {Tok: resource("BuildxBuilder")},
		},
		DataSources: map[string]*tfbridge.DataSourceInfo{
			"docker_network":                  {Tok: dataSource("getNetwork")},
			"docker_plugin":                   {Tok: dataSource("getPlugin")},
			"docker_image":                    {Tok: dataSource("getRemoteImage")},
			"docker_logs":                     {Tok: dataSource("getLogs")},
			"docker_registry_image":           {Tok: dataSource("getRegistryImage")},
			"docker_registry_image_manifests": {Tok: dataSource("getRegistryImageManifests")},
		},
	}
	prov.SetAutonaming(255, "-")
	return prov
}
