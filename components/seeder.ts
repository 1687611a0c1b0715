import * as pulumi from "@pulumi/pulumi";
import { SaslCredentials } from "../lib/kafka";

export interface SeederArgs {
    /**
     * The seed CSVs, already checked with checkSeeds (a bad row must fail before anything is
     * declared), relative to the project directory.
     */
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
    /** Relative to the project directory, which providers run in: the state names no machine's paths. */
    seedsDir: string;
    seedsHash: string;
    topics: Record<string, string>;
    bootstrapServers: string[];
    tls: boolean;
    sasl?: SaslCredentials;
    transactionalId: string;
    sent?: number;
    /** Each topic's end offsets after seeding: a topic found below them was recreated. */
    endOffsets?: Record<string, Record<string, string>>;
    /** Per dataset, when its topic was seeded from empty: a new epoch means a new topic. */
    epochs?: Record<string, string>;
    /** Earlier versions kept a digest per row sent here; the topics hold that record now. */
    sentDigests?: string[];
}

/**
 * Sends the seed rows once. What the topics hold decides what is sent (producer/seed.ts), not the
 * state: a state lost, restored or rolled back can never make a row land twice. The state keeps
 * what does not grow with the rows: the seeds' hash (an edited file makes the next `up` send its
 * new rows), and per topic its end offsets and epoch. `refresh` notices a topic that was deleted
 * and created again (empty): it loses its epoch, so the next `up` seeds it again and gives it a
 * new one. The producer is TypeScript in producer/, loaded through tsx inside the provider process
 * (a dynamic provider is a serialized closure and carries no compiled code of its own).
 */
export const seedingProvider: pulumi.dynamic.ResourceProvider<SeedingState, SeedingState> = {
    async diff(_id, olds, news) {
        const replaces = JSON.stringify(olds.topics) !== JSON.stringify(news.topics) ? ["topics"] : [];
        const unseeded = Object.keys(news.topics).some(dataset => !olds.epochs?.[dataset]);
        const changes = replaces.length > 0 || olds.seedsHash !== news.seedsHash || unseeded || olds.sentDigests !== undefined;
        return { changes, replaces };
    },
    async create(inputs) {
        return { id: inputs.transactionalId, outs: await runSeed(inputs, {}) };
    },
    async read(id, props) {
        if (!props) throw new Error(`no recorded state for ${id}; import is not supported`);
        return { id, props: await forgetRecreatedTopics(props) };
    },
    async update(_id, olds, news) {
        return { outs: await runSeed(news, olds.epochs ?? {}) };
    },
    async delete() {
        // Events cannot be unsent; they go away with their topics.
    },
};

/** The seeding half of the producer, from the project directory the provider runs in. */
function loadProducer(): typeof import("../producer/seed") {
    require("tsx/cjs/api").register();
    return require(require("node:path").resolve("producer", "seed.ts"));
}

function kafkaSettings(state: SeedingState) {
    return { brokers: state.bootstrapServers, tls: state.tls, sasl: state.sasl };
}

async function runSeed(state: SeedingState, epochs: Record<string, string>): Promise<SeedingState> {
    const result = await loadProducer().seedTopics({
        kafka: kafkaSettings(state),
        seedsDir: state.seedsDir,
        topics: state.topics,
        transactionalId: state.transactionalId,
        // Millions of rows take minutes; Kafka aborts a transaction after 15 (transaction.max.timeout.ms).
        timeoutMs: 600_000,
        log: message => console.error(`[seed] ${message}`),
    });
    const seededAt = new Date().toISOString();
    return {
        ...state,
        sent: result.sent,
        endOffsets: result.endOffsets,
        epochs: Object.fromEntries(Object.keys(state.topics).map(dataset => [dataset, epochs[dataset] ?? seededAt])),
    };
}

/** The state as the broker has it: datasets whose topic was recreated lose their epoch. */
async function forgetRecreatedTopics(state: SeedingState): Promise<SeedingState> {
    let recreated: string[];
    try {
        recreated = await loadProducer().recreatedTopics(kafkaSettings(state), state.endOffsets ?? {});
    } catch (err) {
        // An unreachable broker (e.g. its container is being replaced) says nothing about the topics.
        console.error(`[seed] could not check the topics, keeping the recorded state: ${(err as Error).message}`);
        return state;
    }
    const datasets = Object.keys(state.topics).filter(dataset => recreated.includes(state.topics[dataset]));
    if (datasets.length === 0) return state;
    const without = <T>(record: Record<string, T> | undefined, keys: string[]) =>
        Object.fromEntries(Object.entries(record ?? {}).filter(([key]) => !keys.includes(key)));
    return {
        ...state,
        endOffsets: without(state.endOffsets, datasets.map(dataset => state.topics[dataset])),
        epochs: without(state.epochs, datasets),
    };
}

class Seeding extends pulumi.dynamic.Resource {
    declare readonly sent: pulumi.Output<number>;
    declare readonly epochs: pulumi.Output<Record<string, string>>;

    constructor(name: string, state: pulumi.Inputs, opts: pulumi.CustomResourceOptions) {
        const outputsOnly = { sent: undefined, endOffsets: undefined, epochs: undefined };
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
        const seeding = new Seeding(`${name}-seeding`, {
            seedsDir: args.seedsDir,
            seedsHash: args.seedsHash,
            topics: args.topics,
            bootstrapServers: args.bootstrapServers,
            tls: args.tls,
            sasl: args.sasl && { ...args.sasl, password: pulumi.secret(args.sasl.password) },
            transactionalId: args.transactionalId,
        }, { parent: this, additionalSecretOutputs: ["sasl"] });
        this.sent = seeding.sent;
        this.epochs = seeding.epochs;
        this.registerOutputs({ sent: this.sent, epochs: this.epochs });
    }
}
