import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { datasets } from "../producer/datasets";
import { SaslMechanism } from "../producer/kafka";

export interface SeederArgs {
    /** The seed CSVs, already checked with readSeeds: a bad row must fail before anything is declared. */
    seedsDir: string;
    /** Topic for each dataset name. */
    topics: Record<string, string>;
    bootstrapServers: pulumi.Input<string[]>;
    tls: boolean;
    sasl?: { mechanism: SaslMechanism; username: string; password: pulumi.Input<string> };
    /** Kafka transactional id; one per stack so two stacks never fence each other. */
    transactionalId: string;
    /** What must exist before the first event is sent (topics, sources). */
    dependsOn?: pulumi.Input<pulumi.Resource>[];
}

interface SeedingState {
    seedsDir: string;
    seedsHash: string;
    topics: Record<string, string>;
    bootstrapServers: string[];
    tls: boolean;
    sasl?: { mechanism: SaslMechanism; username: string; password: string };
    transactionalId: string;
    producerModule: string;
    sent?: number;
    sentDigests?: string[];
}

/**
 * Sends the seed rows once. The state remembers a digest of every row sent, so an unchanged `up`
 * sends nothing and an edited seed file sends only its new rows; new topics get everything again.
 * The producer is TypeScript in producer/, loaded through tsx inside the provider process
 * (a dynamic provider is a serialized closure and carries no compiled code of its own).
 */
const seedingProvider: pulumi.dynamic.ResourceProvider<SeedingState, SeedingState> = {
    async diff(_id, olds, news) {
        const replaces = JSON.stringify(olds.topics) !== JSON.stringify(news.topics) ? ["topics"] : [];
        const changes = replaces.length > 0 || olds.seedsHash !== news.seedsHash;
        return { changes, replaces };
    },
    async create(inputs) {
        return { id: inputs.transactionalId, outs: await runSeed(inputs, []) };
    },
    async update(_id, olds, news) {
        return { outs: await runSeed(news, olds.sentDigests ?? []) };
    },
    async delete() {
        // Events cannot be unsent; they go away with their topics.
    },
};

async function runSeed(state: SeedingState, alreadySent: string[]): Promise<SeedingState> {
    require("tsx/cjs/api").register();
    const producer = require(state.producerModule) as typeof import("../producer/seed");
    const result = await producer.seedTopics({
        kafka: { brokers: state.bootstrapServers, tls: state.tls, sasl: state.sasl },
        seedsDir: state.seedsDir,
        topics: state.topics,
        alreadySent,
        transactionalId: state.transactionalId,
        timeoutMs: 60_000,
        log: message => console.error(`[seed] ${message}`),
    });
    return { ...state, sent: result.sent, sentDigests: result.sentDigests };
}

/** Hash of the seed files' contents: a change is what makes a later `up` send new rows. */
export function hashSeeds(seedsDir: string): string {
    const hash = createHash("sha256");
    for (const dataset of datasets) {
        const file = path.join(seedsDir, dataset.seedFile);
        hash.update(dataset.seedFile).update("\0").update(fs.existsSync(file) ? fs.readFileSync(file) : "<missing>");
    }
    return hash.digest("hex").slice(0, 16);
}

class Seeding extends pulumi.dynamic.Resource {
    declare readonly sent: pulumi.Output<number>;

    constructor(name: string, state: pulumi.Inputs, opts: pulumi.CustomResourceOptions) {
        super(seedingProvider, name, { ...state, sent: undefined, sentDigests: undefined }, opts, "jaffle-shop-streaming", "Seeding");
    }
}

/** Seeds the raw topics from seeds/*.csv exactly once, after the topics and sources exist. */
export class Seeder extends pulumi.ComponentResource {
    /** Rows sent by the last create or update. */
    readonly sent: pulumi.Output<number>;

    constructor(name: string, args: SeederArgs, opts?: pulumi.ComponentResourceOptions) {
        super("jaffle-shop-streaming:index:Seeder", name, {}, opts);
        const seedsDir = path.resolve(args.seedsDir);
        const seeding = new Seeding(`${name}-seeding`, {
            seedsDir,
            seedsHash: hashSeeds(seedsDir),
            topics: args.topics,
            bootstrapServers: args.bootstrapServers,
            tls: args.tls,
            sasl: args.sasl && { ...args.sasl, password: pulumi.secret(args.sasl.password) },
            transactionalId: args.transactionalId,
            producerModule: path.join(__dirname, "..", "producer", "seed.ts"),
        }, { parent: this, dependsOn: args.dependsOn, additionalSecretOutputs: ["sasl"] });
        this.sent = seeding.sent;
        this.registerOutputs({ sent: this.sent });
    }
}
