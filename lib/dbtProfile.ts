import * as yaml from "js-yaml";
import { SqlConnection } from "./sqlObject";

/** The environment variable the profile reads the Materialize password from: never in the output. */
export const dbtPasswordVariable = "DBT_MATERIALIZE_PASSWORD";

/**
 * A `profiles.yml` entry for the dbt-materialize adapter, for stacks that leave the models to dbt
 * (as the original jaffle_shop demo did): profile `jaffle_shop`, one target named after the stack.
 */
export function dbtProfile(connection: SqlConnection, target: string, cluster: string): string {
    const output = {
        type: "materialize",
        host: connection.host,
        port: connection.port,
        user: connection.user,
        pass: connection.password === undefined ? "" : `{{ env_var('${dbtPasswordVariable}') }}`,
        dbname: connection.database,
        schema: "public",
        cluster,
        sslmode: connection.ssl ? "require" : "disable",
        threads: 1,
    };
    return yaml.dump({ jaffle_shop: { target, outputs: { [target]: output } } }, { lineWidth: -1 });
}
