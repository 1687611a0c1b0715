import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { ExternalMaterializeSettings } from "../lib/config";
import { SqlConnection } from "../lib/sqlObject";
import { containerName, dialAddress, healthyBeforeReady, stackLabels } from "../lib/containers";
import { postgresUrl } from "../lib/postgresUrl";

export interface MaterializeArgs {
    namePrefix: string;
    image: string;
    network: docker.Network;
    bindAddress: string;
    sqlPort: number;
    httpPort: number;
    /** Host port of the Materialize Console (the emulator's web UI). */
    consolePort: number;
}

const sqlPort = 6875;
const internalConsolePort = 6874;
const internalHttpPort = 6878;

/** The Materialize emulator: one container, SQL on the host's loopback, ready when readyz says so. */
export class Materialize extends pulumi.ComponentResource {
    readonly container: docker.Container;
    /** Connection settings for the SQL objects, available once Materialize is ready. */
    readonly connection: pulumi.Output<SqlConnection>;
    readonly psqlUrl: pulumi.Output<string>;
    /** The Materialize Console in a browser. */
    readonly consoleUrl: pulumi.Output<string>;

    constructor(name: string, args: MaterializeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("jaffle-shop-streaming:index:Materialize", name, {}, opts);
        const host = dialAddress(args.bindAddress);
        const image = new docker.RemoteImage(`${name}-image`, { name: args.image, keepLocally: true }, { parent: this });

        this.container = new docker.Container(`${name}-container`, {
            name: containerName(args.namePrefix, "materialize"),
            image: image.imageId,
            envs: ["MZ_NO_TELEMETRY=1"],
            ports: [
                { internal: sqlPort, external: args.sqlPort, ip: args.bindAddress },
                { internal: internalHttpPort, external: args.httpPort, ip: args.bindAddress },
                { internal: internalConsolePort, external: args.consolePort, ip: args.bindAddress },
            ],
            networksAdvanced: [{ name: args.network.name }],
            ...healthyBeforeReady(["CMD", "curl", "-sf", `http://localhost:${internalHttpPort}/api/readyz`], {
                retries: 90,
                startPeriod: "10s",
                waitTimeoutSeconds: 300,
            }),
            labels: stackLabels(args.namePrefix),
        }, { parent: this });

        // Known only once the container is healthy, so whatever connects waits for Materialize. The
        // emulator keeps no data: a new container is a new, empty instance, so the SQL objects in
        // it are created again.
        this.connection = this.container.id.apply((serverInstance): SqlConnection => ({
            dialect: "materialize",
            host,
            port: args.sqlPort,
            user: "materialize",
            database: "materialize",
            ssl: false,
            connectTimeoutSeconds: 180,
            serverInstance,
        }));
        this.psqlUrl = this.connection.apply(psqlUrl);
        this.consoleUrl = this.connection.apply(c => `http://${c.host}:${args.consolePort}`);
        this.registerOutputs({
            host: this.connection.host,
            port: this.connection.port,
            user: this.connection.user,
            database: this.connection.database,
            psqlUrl: this.psqlUrl,
            consoleUrl: this.consoleUrl,
        });
    }
}

/** A URL for psql and other PostgreSQL clients; the password, if any, is left out. */
export function psqlUrl(c: SqlConnection): string {
    return postgresUrl({ ...c, sslMode: c.ssl ? "require" : undefined });
}

/** The connection to a Materialize this program did not start (external mode); the password stays secret. */
export function existingMaterialize(settings: ExternalMaterializeSettings): pulumi.Output<SqlConnection> {
    return pulumi.all([settings.password]).apply(([password]) => ({
        dialect: "materialize" as const,
        ...settings,
        password,
        connectTimeoutSeconds: 60,
    }));
}
