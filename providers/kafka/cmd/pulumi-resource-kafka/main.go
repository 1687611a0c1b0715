package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"

	"jaffle-shop-streaming/kafka-provider/info"
)

//go:embed schema.json
var schema []byte

func main() { tfbridge.Main("kafka", info.Version, info.Provider(), schema) }
