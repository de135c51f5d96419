// Starts and stops moto_server (moto 5.2.1, the AWS wire protocol on 127.0.0.1) for the tests that need a real protocol.
import { ChildProcess, spawn } from "child_process";
import * as net from "net";
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { LEDGER_KEY } from "../../components/releaseLedger";

/**
 * moto's own server, as `moto_server` builds it, but serving one request at a
 * time. `moto_server` runs werkzeug with `threaded=True` and moto's DynamoDB
 * takes no lock, so two concurrent conditional writes could both pass their
 * condition (seen here: two winners of one free lease in 1 of 10 race rounds
 * on a loaded machine). DynamoDB itself applies each conditional write
 * atomically, so serialising requests is the faithful model; the clients still
 * race, interleaving their read-then-write sequences. Two changes spare CPU
 * without changing any answer: the routing's list of moto's services is read
 * once, and werkzeug does not log every request.
 */
const SERIAL_MOTO_SERVER = [
    "import logging, sys",
    "import moto.backends",
    // moto lists its own package folder (a listdir and a stat per entry) to route every request; the list never changes.
    "modules = list(moto.backends.list_of_moto_modules())",
    "moto.backends.list_of_moto_modules = lambda: iter(modules)",
    // No access-log line per request (thousands per file); errors are still printed.
    "logging.getLogger('werkzeug').setLevel(logging.ERROR)",
    "from werkzeug.serving import run_simple",
    "from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app",
    "run_simple(sys.argv[1], int(sys.argv[2]), DomainDispatcherApplication(create_backend_app), threaded=False)",
].join("\n");

/**
 * One moto server per test file, on a free port of 127.0.0.1, killed by its
 * pid in `stop()`. moto keeps everything in memory, so each server starts
 * empty. Credentials are moto's dummies; nothing leaves the machine.
 */
export class MotoServer {
    private child?: ChildProcess;
    endpoint = "";

    async start(): Promise<string> {
        const port = await freePort();
        const child = spawn("python3", ["-c", SERIAL_MOTO_SERVER, "127.0.0.1", String(port)], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, MOTO_PORT: String(port) } });
        this.child = child;
        let stderr = "";
        child.stderr?.on("data", (chunk) => (stderr += String(chunk)));
        const exited = new Promise<never>((_, reject) => child.once("exit", (code) => reject(new Error(`moto_server exited with ${code}: ${stderr}`))));
        exited.catch(() => undefined);
        child.once("error", () => undefined);
        this.endpoint = `http://127.0.0.1:${port}`;
        const deadline = Date.now() + 20_000;
        for (;;) {
            try {
                const response = await Promise.race([fetch(`${this.endpoint}/moto-api/`), exited]);
                if (response.ok) return this.endpoint;
            } catch (error) {
                if (child.exitCode !== null || Date.now() > deadline) throw new Error(`moto_server did not start on ${this.endpoint}: ${(error as Error).message} ${stderr}`);
            }
            await new Promise((resolve) => setTimeout(resolve, 100));
        }
    }

    async stop(): Promise<void> {
        const child = this.child;
        if (!child || child.exitCode !== null) return;
        await new Promise<void>((resolve) => {
            child.once("exit", () => resolve());
            child.kill("SIGTERM");
        });
    }

    /** A DynamoDB client of this server. */
    dynamo(): DynamoDBClient {
        return new DynamoDBClient({ endpoint: this.endpoint, region: "eu-west-1", credentials: { accessKeyId: "testing", secretAccessKey: "testing" }, maxAttempts: 1 });
    }

    /**
     * One EC2 Query API call (the project has no EC2 client): moto dispatches by
     * the credential scope's service and does not check signatures. Returns the
     * XML response; rejects on an error status.
     */
    async ec2(action: string, parameters: Record<string, string>): Promise<string> {
        const response = await fetch(`${this.endpoint}/`, {
            method: "POST",
            headers: {
                "content-type": "application/x-www-form-urlencoded",
                authorization: "AWS4-HMAC-SHA256 Credential=testing/20250101/eu-west-1/ec2/aws4_request, SignedHeaders=host, Signature=moto",
            },
            body: new URLSearchParams({ Action: action, Version: "2016-11-15", ...parameters }).toString(),
        });
        const text = await response.text();
        if (!response.ok) throw new Error(`moto EC2 ${action}: ${response.status} ${text}`);
        return text;
    }

    /** Creates a table with the ledger's key design (as components/releaseLedger.ts declares it). */
    async createLedgerTable(tableName: string): Promise<void> {
        await this.dynamo().send(
            new CreateTableCommand({
                TableName: tableName,
                BillingMode: "PAY_PER_REQUEST",
                KeySchema: [
                    { AttributeName: LEDGER_KEY.partitionKey, KeyType: "HASH" },
                    { AttributeName: LEDGER_KEY.sortKey, KeyType: "RANGE" },
                ],
                AttributeDefinitions: [
                    { AttributeName: LEDGER_KEY.partitionKey, AttributeType: "S" },
                    { AttributeName: LEDGER_KEY.sortKey, AttributeType: "S" },
                ],
            }),
        );
    }
}

function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const port = (server.address() as net.AddressInfo).port;
            server.close(() => resolve(port));
        });
    });
}
