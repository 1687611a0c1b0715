import * as pulumi from "@pulumi/pulumi";
import * as path from "node:path";
import { SaslCredentials } from "../lib/kafka";

export interface SeederArgs {
    /** The seed CSVs, already checked with checkSeeds: a bad row must fail before anything is declared. */
    seedsDir: string;
    /** checkSeeds' hash of those files: an edited file makes the next `up` send its new rows. */
    seedsHash: string;
    /** Topic for each dataset name. */
    topics: Record<string, string>;
    bootstrapServers: pulumi.Input<string[]>;
    tls: boolean;
    sasl?: SaslCredentials<pulumi.Input<string>>;
    /** Kafka transactional id; one per stack so two stacks never fence each other. */
    transactionalId: string;
}

interface SeedingState {
    seedsDir: string;
    seedsHash: string;
    topics: Record<string, string>;
    bootstrapServers: string[];
    tls: boolean;
    sasl?: SaslCredentials;
    transactionalId: string;
    producerModule: string;
    sent?: number;
    sentDigests?: string[];
    /** Each topic's end offsets after seeding: a topic found below them was recreated. */
    endOffsets?: Record<string, Record<string, string>>;
    /** Per dataset, when its topic was seeded from empty: a new epoch means a new topic. */
    epochs?: Record<string, string>;
}

/**
 * Sends the seed rows once. The state remembers a digest of every row sent, so an unchanged `up`
 * sends nothing and an edited seed file sends only its new rows; new topics get everything again.
 * `refresh` notices a topic that was deleted and created again (empty): that dataset counts as
 * never seeded, so the next `up` sends its rows again and gives it a new epoch.
 * The producer is TypeScript in producer/, loaded through tsx inside the provider process
 * (a dynamic provider is a serialized closure and carries no compiled code of its own).
 */
const seedingProvider: pulumi.dynamic.ResourceProvider<SeedingState, SeedingState> = {
    async diff(_id, olds, news) {
        const replaces = JSON.stringify(olds.topics) !== JSON.stringify(news.topics) ? ["topics"] : [];
        const unseeded = Object.keys(news.topics).some(dataset => !olds.epochs?.[dataset]);
        const changes = replaces.length > 0 || olds.seedsHash !== news.seedsHash || unseeded;
        return { changes, replaces };
    },
    async create(inputs) {
        return { id: inputs.transactionalId, outs: await runSeed(inputs, [], {}) };
    },
    async read(id, props) {
        if (!props) throw new Error(`no recorded state for ${id}; import is not supported`);
        return { id, props: await forgetRecreatedTopics(props) };
    },
    async update(_id, olds, news) {
        return { outs: await runSeed(news, olds.sentDigests ?? [], olds.epochs ?? {}) };
    },
    async delete() {
        // Events cannot be unsent; they go away with their topics.
    },
};

function loadProducer(state: SeedingState): typeof import("../producer/seed") {
    require("tsx/cjs/api").register();
    return require(state.producerModule);
}

function kafkaSettings(state: SeedingState) {
    return { brokers: state.bootstrapServers, tls: state.tls, sasl: state.sasl };
}

async function runSeed(state: SeedingState, alreadySent: string[], epochs: Record<string, string>): Promise<SeedingState> {
    const result = await loadProducer(state).seedTopics({
        kafka: kafkaSettings(state),
        seedsDir: state.seedsDir,
        topics: state.topics,
        alreadySent,
        transactionalId: state.transactionalId,
        // Millions of rows take minutes; Kafka aborts a transaction after 15 (transaction.max.timeout.ms).
        timeoutMs: 600_000,
        log: message => console.error(`[seed] ${message}`),
    });
    const seededAt = new Date().toISOString();
    return {
        ...state,
        sent: result.sent,
        sentDigests: result.sentDigests,
        endOffsets: result.endOffsets,
        epochs: Object.fromEntries(Object.keys(state.topics).map(dataset => [dataset, epochs[dataset] ?? seededAt])),
    };
}

/** The state as the broker has it: datasets whose topic was recreated lose their epoch and digests. */
async function forgetRecreatedTopics(state: SeedingState): Promise<SeedingState> {
    const producer = loadProducer(state);
    let recreated: string[];
    try {
        recreated = await producer.recreatedTopics(kafkaSettings(state), state.endOffsets ?? {});
    } catch (err) {
        // An unreachable broker (e.g. its container is being replaced) says nothing about the topics.
        console.error(`[seed] could not check the topics, keeping the recorded state: ${(err as Error).message}`);
        return state;
    }
    const datasets = Object.keys(state.topics).filter(dataset => recreated.includes(state.topics[dataset]));
    if (datasets.length === 0) return state;
    const forgotten = new Set(datasets.flatMap(dataset => producer.seedDigests(state.seedsDir, dataset)));
    const without = <T>(record: Record<string, T> | undefined, keys: string[]) =>
        Object.fromEntries(Object.entries(record ?? {}).filter(([key]) => !keys.includes(key)));
    return {
        ...state,
        sentDigests: (state.sentDigests ?? []).filter(digest => !forgotten.has(digest)),
        endOffsets: without(state.endOffsets, datasets.map(dataset => state.topics[dataset])),
        epochs: without(state.epochs, datasets),
    };
}

class Seeding extends pulumi.dynamic.Resource {
    declare readonly sent: pulumi.Output<number>;
    declare readonly epochs: pulumi.Output<Record<string, string>>;

    constructor(name: string, state: pulumi.Inputs, opts: pulumi.CustomResourceOptions) {
        const outputsOnly = { sent: undefined, sentDigests: undefined, endOffsets: undefined, epochs: undefined };
        super(seedingProvider, name, { ...state, ...outputsOnly }, opts, "jaffle-shop-streaming", "Seeding");
    }
}

/** Seeds the raw topics from seeds/*.csv exactly once; give it the topics in `dependsOn`. */
export class Seeder extends pulumi.ComponentResource {
    /** Rows sent by the last create or update. */
    readonly sent: pulumi.Output<number>;
    /** Per dataset, when its topic was seeded from empty; what reads a topic is rebuilt when it changes. */
    readonly epochs: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: SeederArgs, opts?: pulumi.ComponentResourceOptions) {
        super("jaffle-shop-streaming:index:Seeder", name, {}, opts);
        const seedsDir = path.resolve(args.seedsDir);
        const seeding = new Seeding(`${name}-seeding`, {
            seedsDir,
            seedsHash: args.seedsHash,
            topics: args.topics,
            bootstrapServers: args.bootstrapServers,
            tls: args.tls,
            sasl: args.sasl && { ...args.sasl, password: pulumi.secret(args.sasl.password) },
            transactionalId: args.transactionalId,
            producerModule: path.join(__dirname, "..", "producer", "seed.ts"),
        }, { parent: this, additionalSecretOutputs: ["sasl"] });
        this.sent = seeding.sent;
        this.epochs = seeding.epochs;
        this.registerOutputs({ sent: this.sent, epochs: this.epochs });
    }
}
