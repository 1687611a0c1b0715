package main

import (
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfgen"

	"jaffle-shop-streaming/kafka-provider/info"
)

func main() { tfgen.Main("kafka", info.Version, info.Provider()) }
