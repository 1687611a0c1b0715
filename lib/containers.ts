/** What every container of a stack has in common, so the components declare only what differs. */

/** The containers a local stack may run, each named `jaffle-<stack>-<role>`. */
export type ContainerRole = "redpanda" | "console" | "materialize" | "postgres";
const containerRoles: readonly ContainerRole[] = ["redpanda", "console", "materialize", "postgres"];

/** The prefix of every Docker name of a stack: containers, network, volumes. */
export function namePrefix(stack: string): string {
    return `jaffle-${stack}`;
}

export function containerName(prefix: string, role: ContainerRole): string {
    return `${prefix}-${role}`;
}

/**
 * A container's name is also its host name and the address the others dial on the stack's
 * network: a DNS label, at most 63 characters. So a local stack's name has this many at most.
 */
export const maxLocalStackName = 63 - Math.max(...containerRoles.map(role => containerName(namePrefix(""), role).length));

/** Label on every container, network and volume of a stack; its value is the stack's name prefix. */
export const stackLabel = "jaffle-shop-streaming.stack";

export function stackLabels(namePrefix: string): { label: string; value: string }[] {
    return [{ label: stackLabel, value: namePrefix }];
}

/** The address this machine dials for a port published on `bindAddress` (all interfaces: loopback). */
export function dialAddress(bindAddress: string): string {
    return bindAddress === "0.0.0.0" ? "127.0.0.1" : bindAddress;
}

/**
 * A healthcheck run every 2 s, and creation that returns only once it passes (so nothing downstream
 * races the service's start-up); the container restarts with the Docker daemon unless stopped.
 */
export function healthyBeforeReady(tests: string[], patience: { retries: number; startPeriod: string; waitTimeoutSeconds: number }) {
    return {
        healthcheck: { tests, interval: "2s", timeout: "5s", retries: patience.retries, startPeriod: patience.startPeriod },
        wait: true,
        waitTimeout: patience.waitTimeoutSeconds,
        restart: "unless-stopped",
    };
}
