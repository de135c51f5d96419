// Packages the guard's Lambda handler at program time: esbuild bundles guard/handler.ts into one CommonJS file, no network.
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";

/** The file the archive holds and the handler Lambda calls: `index.js`, export `handler`. */
export const GUARD_HANDLER = "index.handler";

/**
 * The AWS SDK v3 clients the handler imports are part of the Lambda Node.js
 * runtime (nodejs18.x and later), so they stay out of the bundle: a few
 * kilobytes instead of 650 KB, which keeps every `pulumi preview` and mock
 * evaluation cheap. The runtime's SDK is AWS's to patch.
 */
export const GUARD_EXTERNALS = ["@aws-sdk/*"];

let bundled: string | undefined;

/**
 * The handler as one minified CommonJS file. Deterministic for the same
 * sources (no comments or absolute paths in the output), so an unchanged
 * handler is no diff in `pulumi preview`. Built once per process.
 */
export function guardHandlerCode(): string {
    if (bundled === undefined) {
        // Required here, not at the top: only a program evaluation needs esbuild. Its service process is unref'd,
        // so it never keeps `pulumi up` or `shiftwise plan` alive.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const esbuild = require("esbuild") as typeof import("esbuild");
        const root = path.resolve(__dirname, "..");
        const result = esbuild.buildSync({
            entryPoints: [path.join("guard", "handler.ts")],
            absWorkingDir: root,
            bundle: true,
            platform: "node",
            target: "node22",
            format: "cjs",
            minify: true,
            legalComments: "none",
            external: GUARD_EXTERNALS,
            write: false,
            logLevel: "silent",
        });
        bundled = result.outputFiles[0].text;
    }
    return bundled;
}

/** The function's code package: `index.js` holding the bundled handler. */
export function guardHandlerArchive(): pulumi.asset.AssetArchive {
    return new pulumi.asset.AssetArchive({ "index.js": new pulumi.asset.StringAsset(guardHandlerCode()) });
}
