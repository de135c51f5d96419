// The plan-startup bench's baseline: ts-node, @pulumi/pulumi and the @pulumi/aws module the listener lives in (loaded as the program loads its modules), and one weighted listener evaluated under the mock runtime.
import * as pulumi from "@pulumi/pulumi";

async function main(): Promise<void> {
    await pulumi.runtime.setMocks(
        {
            newResource: (args) => ({ id: `${args.name}-id`, state: { ...args.inputs, arn: `arn:aws:elasticloadbalancing:eu-west-1:123456789012:${args.name}` } }),
            call: (args) => args.inputs,
        },
        "baseline",
        "bench",
        true,
    );
    // Loaded after setMocks, as a program is.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const lb = require("@pulumi/aws/lb") as typeof import("@pulumi/aws/lb");
    const listener = new lb.Listener("baseline", {
        loadBalancerArn: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/baseline/1",
        port: 443,
        protocol: "HTTPS",
        defaultActions: [
            {
                type: "forward",
                forward: {
                    targetGroups: [
                        { arn: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/blue/1", weight: 90 },
                        { arn: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/green/1", weight: 10 },
                    ],
                    stickiness: { enabled: false, duration: 1 },
                },
            },
        ],
    });
    await new Promise<void>((resolve) => listener.arn.apply(() => resolve()));
    process.stdout.write("listener evaluated\n");
}

main();
