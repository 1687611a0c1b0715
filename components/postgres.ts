import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { PostgresServer } from "../lib/config";
import { containerName as nameOf, dialAddress, healthyBeforeReady, stackLabels } from "../lib/containers";

export interface PostgresArgs {
    /** Prefix of every Docker name, unique per stack. */
    namePrefix: string;
    /** The official postgres image, pinned. */
    image: string;
    network: docker.Network;
    bindAddress: string;
    /** Host port of PostgreSQL (portBase+5). */
    port: number;
}

const internalPort = 5432;
const superuser = "postgres";

/**
 * The operational PostgreSQL of the CDC datasets: the official image with wal_level=logical (what
 * Materialize's PostgreSQL source replicates from), its data in a named volume, on the stack's
 * network (Materialize dials it by container name) and on the host's loopback (this program's
 * PostgreSQL provider and the seeding dial it there). The superuser's password is generated once
 * and kept as a Pulumi secret.
 */
export class Postgres extends pulumi.ComponentResource {
    readonly container: docker.Container;
    /** As its superuser, from this machine (host, port) and from the network (…ForMaterialize). */
    readonly server: PostgresServer & { password: pulumi.Output<string> };

    constructor(name: string, args: PostgresArgs, opts?: pulumi.ComponentResourceOptions) {
        super("jaffle-shop-streaming:index:Postgres", name, {}, opts);
        const labels = stackLabels(args.namePrefix);
        const containerName = nameOf(args.namePrefix, "postgres");
        // Letters and digits only: it goes into an environment variable and connection settings.
        const password = new random.RandomPassword(`${name}-superuser-password`, { length: 32, special: false }, { parent: this });
        this.server = {
            host: dialAddress(args.bindAddress),
            port: args.port,
            user: superuser,
            password: pulumi.secret(password.result),
            sslMode: "disable",
            hostForMaterialize: containerName,
            portForMaterialize: internalPort,
        };

        const image = new docker.RemoteImage(`${name}-image`, { name: args.image, keepLocally: true }, { parent: this });
        const data = new docker.Volume(`${name}-data`, { name: `${args.namePrefix}-postgres-data`, labels }, { parent: this });
        this.container = new docker.Container(`${name}-container`, {
            name: containerName,
            image: image.imageId,
            hostname: containerName,
            command: ["postgres", "-c", "wal_level=logical", "-c", "max_replication_slots=10", "-c", "max_wal_senders=10"],
            envs: [pulumi.interpolate`POSTGRES_PASSWORD=${this.server.password}`, `POSTGRES_USER=${superuser}`],
            ports: [{ internal: internalPort, external: args.port, ip: args.bindAddress }],
            networksAdvanced: [{ name: args.network.name }],
            volumes: [{ volumeName: data.name, containerPath: "/var/lib/postgresql/data" }],
            // Creation returns once pg_isready answers, so the provider and the seeding never race start-up.
            ...healthyBeforeReady(["CMD", "pg_isready", "-U", superuser, "-h", "127.0.0.1"], {
                retries: 60,
                startPeriod: "5s",
                waitTimeoutSeconds: 180,
            }),
            labels,
        }, { parent: this, additionalSecretOutputs: ["envs"] });

        this.registerOutputs({ host: this.server.host, port: this.server.port, hostForMaterialize: this.server.hostForMaterialize });
    }
}
