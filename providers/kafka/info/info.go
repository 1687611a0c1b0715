// Package info maps the Terraform Kafka provider onto the Pulumi tokens and property names of the
// published @pulumi/kafka SDK.
package info

import (
	kafka "github.com/Mongey/terraform-provider-kafka/kafka"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"
)

// Version is set with -ldflags "-X jaffle-shop-streaming/kafka-provider/info.Version=...".
var Version = "0.0.1-dev"

func Provider() tfbridge.ProviderInfo {
	prov := tfbridge.ProviderInfo{
		P:           shimv2.NewProvider(kafka.Provider()),
		Name:        "kafka",
		Version:     Version,
		DisplayName: "Kafka",
		Description: "Kafka resources: a local build bridging Mongey/terraform-provider-kafka.",
		License:     "Apache-2.0",
		GitHubOrg:   "Mongey",
		Resources: map[string]*tfbridge.ResourceInfo{
			"kafka_topic": {Tok: "kafka:index/topic:Topic"},
			"kafka_acl": {
				Tok: "kafka:index/acl:Acl",
				Fields: map[string]*tfbridge.SchemaInfo{
					"resource_name": {Name: "aclResourceName"},
					"resource_type": {Name: "aclResourceType"},
				},
			},
			"kafka_quota":                 {Tok: "kafka:index/quota:Quota"},
			"kafka_user_scram_credential": {Tok: "kafka:index/userScramCredential:UserScramCredential"},
		},
		DataSources: map[string]*tfbridge.DataSourceInfo{
			"kafka_topic":  {Tok: "kafka:index:getTopic"},
			"kafka_topics": {Tok: "kafka:index:getTopics"},
		},
	}
	// The SDK's Topic.name is optional: Pulumi auto-names topics.
	prov.SetAutonaming(255, "-")
	return prov
}
