package main

import (
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfgen"

	"jaffle-shop-streaming/docker-provider/info"
)

func main() { tfgen.Main("docker", info.Version, info.Provider()) }
