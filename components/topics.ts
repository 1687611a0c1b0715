import * as kafka from "@pulumi/kafka";
import * as pulumi from "@pulumi/pulumi";
import { SaslCredentials } from "../lib/kafka";

export interface TopicsArgs {
    /** The topic of each dataset that travels through Kafka. */
    topicNames: Record<string, string>;
    partitions: number;
    replicationFactor: number;
    config: Record<string, string>;
    bootstrapServers: pulumi.Input<string[]>;
    tls: boolean;
    sasl?: SaslCredentials<pulumi.Input<string>>;
}

/** The raw topics, managed through the Kafka admin API. */
export class Topics extends pulumi.ComponentResource {
    /** Topic name for each dataset name. */
    readonly topicNames: Record<string, string>;
    readonly topics: kafka.Topic[];

    constructor(name: string, args: TopicsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("jaffle-shop-streaming:index:Topics", name, {}, opts);
        const provider = new kafka.Provider(`${name}-provider`, {
            bootstrapServers: args.bootstrapServers,
            // The provider defaults to TLS; Redpanda wants an explicit protocol version.
            tlsEnabled: args.tls,
            kafkaVersion: "2.1.0",
            saslMechanism: args.sasl?.mechanism,
            saslUsername: args.sasl?.username,
            saslPassword: args.sasl ? pulumi.secret(args.sasl.password) : undefined,
        }, { parent: this });

        this.topicNames = args.topicNames;
        // Named after the component; `aliases` keeps the stacks that named them by dataset alone.
        this.topics = Object.keys(args.topicNames).map(n => new kafka.Topic(`${name}-${n}`, {
            name: this.topicNames[n],
            partitions: args.partitions,
            replicationFactor: args.replicationFactor,
            config: args.config,
        }, { parent: this, provider, aliases: [{ name: n }] }));

        this.registerOutputs({ topicNames: this.topicNames });
    }
}
