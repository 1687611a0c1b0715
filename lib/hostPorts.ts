import { execFileSync } from "node:child_process";
import { stackLabel } from "./containers";

/**
 * Binds each port on the address for a moment; a port that can't be bound is taken, and is the
 * stack's own when one of its containers (by label) publishes it. Prints the others as JSON.
 * argv: bindAddress, ports (JSON), label filter, Docker socket path ("" when none is known).
 */
const checkScript = `
const net = require("node:net");
const http = require("node:http");
const [bindAddress, portsJson, labelFilter, socketPath] = process.argv.slice(1);
const ports = JSON.parse(portsJson);
const free = port => new Promise(resolve => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, bindAddress, () => server.close(() => resolve(true)));
});
const publishedByStack = () => new Promise(resolve => {
    if (!socketPath) return resolve([]);
    const filters = encodeURIComponent(JSON.stringify({ label: [labelFilter] }));
    const request = http.get({ socketPath, path: "/containers/json?all=true&filters=" + filters, timeout: 5000 }, response => {
        let body = "";
        response.on("data", chunk => (body += chunk));
        response.on("end", () => {
            try { resolve(JSON.parse(body).flatMap(c => (c.Ports || []).map(p => p.PublicPort))); } catch { resolve([]); }
        });
    });
    request.on("timeout", () => request.destroy());
    request.on("error", () => resolve([]));
});
(async () => {
    const taken = [];
    for (const port of ports) if (!(await free(port))) taken.push(port);
    const ours = taken.length > 0 ? await publishedByStack() : [];
    console.log(JSON.stringify(taken.filter(port => !ours.includes(port))));
})();
`;

/**
 * The host ports of a local stack that something other than its own containers holds (another
 * program, another stack), found before any resource is declared, so that a taken port changes
 * nothing. Only where the Docker engine runs on this machine (DOCKER_HOST unset or a unix
 * socket): a remote engine publishes its ports elsewhere. Runs in a child process, since the
 * program declares its resources synchronously.
 */
export function portsTakenByOthers(bindAddress: string, ports: readonly number[], namePrefix: string, env = process.env): number[] {
    const dockerHost = env.DOCKER_HOST ?? "unix:///var/run/docker.sock";
    if (!dockerHost.startsWith("unix://")) return [];
    const socketPath = dockerHost.slice("unix://".length);
    const output = execFileSync(
        process.execPath,
        ["-e", checkScript, bindAddress, JSON.stringify(ports), `${stackLabel}=${namePrefix}`, socketPath],
        { encoding: "utf8", timeout: 15_000 },
    );
    return JSON.parse(output) as number[];
}
