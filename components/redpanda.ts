import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { KafkaEndpoint } from "../lib/config";
import { containerName as nameOf, dialAddress, healthyBeforeReady, stackLabels } from "../lib/containers";

export interface RedpandaArgs {
    /** Prefix of every Docker name, unique per stack. */
    namePrefix: string;
    image: string;
    bindAddress: string;
    /** Host port of the external Kafka listener. */
    kafkaPort: number;
    console?: { image: string; port: number };
}

const internalKafkaPort = 9092;
const externalKafkaPort = 19092;
const adminPort = 9644;

/**
 * A single-node Redpanda in dev-container mode on a network of its own. It listens twice:
 * inside the network as `<container>:9092` (for Materialize) and on the host as
 * `<bindAddress>:<kafkaPort>` (for the Kafka provider, the producer and you).
 */
export class Redpanda extends pulumi.ComponentResource {
    readonly network: docker.Network;
    readonly container: docker.Container;
    /**
     * This machine dials the external listener, containers on the network the internal one.
     * Plain values, so that replacing the container changes nothing downstream; what dials the
     * broker waits for this component (dependsOn).
     */
    readonly kafka: KafkaEndpoint;
    readonly consoleUrl?: pulumi.Output<string>;

    constructor(name: string, args: RedpandaArgs, opts?: pulumi.ComponentResourceOptions) {
        super("jaffle-shop-streaming:index:Redpanda", name, {}, opts);
        const labels = stackLabels(args.namePrefix);
        const containerName = nameOf(args.namePrefix, "redpanda");
        const advertisedHost = dialAddress(args.bindAddress);

        this.network = new docker.Network(`${name}-network`, { name: `${args.namePrefix}-network`, labels }, { parent: this });
        const image = new docker.RemoteImage(`${name}-image`, { name: args.image, keepLocally: true }, { parent: this });
        const data = new docker.Volume(`${name}-data`, { name: `${args.namePrefix}-redpanda-data`, labels }, { parent: this });

        this.container = new docker.Container(`${name}-container`, {
            name: containerName,
            image: image.imageId,
            hostname: containerName,
            command: [
                "redpanda", "start",
                "--mode", "dev-container",
                "--smp", "1",
                "--kafka-addr", `internal://0.0.0.0:${internalKafkaPort},external://0.0.0.0:${externalKafkaPort}`,
                "--advertise-kafka-addr", `internal://${containerName}:${internalKafkaPort},external://${advertisedHost}:${args.kafkaPort}`,
                "--rpc-addr", "0.0.0.0:33145",
                "--advertise-rpc-addr", `${containerName}:33145`,
            ],
            ports: [{ internal: externalKafkaPort, external: args.kafkaPort, ip: args.bindAddress }],
            networksAdvanced: [{ name: this.network.name, aliases: ["redpanda"] }],
            volumes: [{ volumeName: data.name, containerPath: "/var/lib/redpanda/data" }],
            ...healthyBeforeReady(["CMD-SHELL", "rpk cluster health | grep -E 'Healthy:.+true'"], {
                retries: 60,
                startPeriod: "5s",
                waitTimeoutSeconds: 180,
            }),
            labels,
        }, { parent: this });

        this.kafka = {
            bootstrapServers: [`${advertisedHost}:${args.kafkaPort}`],
            brokersForMaterialize: [`${containerName}:${internalKafkaPort}`],
            tls: false,
        };

        if (args.console) {
            const consoleImage = new docker.RemoteImage(`${name}-console-image`, { name: args.console.image, keepLocally: true }, { parent: this });
            const console = new docker.Container(`${name}-console`, {
                name: nameOf(args.namePrefix, "console"),
                image: consoleImage.imageId,
                envs: [
                    `KAFKA_BROKERS=${containerName}:${internalKafkaPort}`,
                    "REDPANDA_ADMINAPI_ENABLED=true",
                    `REDPANDA_ADMINAPI_URLS=http://${containerName}:${adminPort}`,
                ],
                ports: [{ internal: 8080, external: args.console.port, ip: args.bindAddress }],
                networksAdvanced: [{ name: this.network.name }],
                restart: "unless-stopped",
                labels,
            }, { parent: this, dependsOn: [this.container] });
            this.consoleUrl = console.id.apply(() => `http://${advertisedHost}:${args.console!.port}`);
        }

        this.registerOutputs({
            bootstrapServers: this.kafka.bootstrapServers,
            brokersForMaterialize: this.kafka.brokersForMaterialize,
            consoleUrl: this.consoleUrl,
        });
    }
}
