// Table tests of the migration and maintenance keys: exact messages, defaults, and the migration image rule.
import * as assert from "assert";
import { ConfigError, migrationRelease, parseStackConfig, shiftwiseSections } from "../config";
import { maintenancePage } from "../config/maintenancePage";
import { evaluateFailure, stackConfig, withSection } from "./harness";

type Sections = Record<string, any>;

function sections(): Sections {
    return shiftwiseSections(stackConfig("staging")) as Sections;
}

const MIGRATE = ["npm", "run", "migrate"];

const INVALID: { name: string; edit: (c: Sections) => void; problems: string[] }[] = [
    {
        name: "a migration command given as one string",
        edit: (c) => (c.database.migration = { command: "npm run migrate" }),
        problems: ['shiftwise:database.migration.command = "npm run migrate": must be a list of arguments (argv), e.g. ["npm", "run", "migrate"]; ECS runs it without a shell'],
    },
    {
        name: "an empty migration command",
        edit: (c) => (c.database.migration = { command: [] }),
        problems: ['shiftwise:database.migration.command = []: must name a program to run, e.g. ["npm", "run", "migrate"]'],
    },
    {
        name: "an empty argument and a number",
        edit: (c) => (c.database.migration = { command: ["migrate", "", 3] }),
        problems: [
            'shiftwise:database.migration.command[1] = "": arguments must not be empty strings; drop them',
            "shiftwise:database.migration.command[2] = 3: each argument must be a string; quote numbers",
        ],
    },
    {
        name: "a command longer than RunTask's overrides allow",
        edit: (c) => (c.database.migration = { command: ["sh", "x".repeat(8000)] }),
        problems: [
            `shiftwise:database.migration.command = ["sh","${"x".repeat(70)}...: must be at most 8000 characters as JSON; ECS RunTask accepts 8192 characters of overrides in total, so move long input into the image or a file`,
        ],
    },
    {
        name: "a missing command",
        edit: (c) => (c.database.migration = { timeoutMinutes: 10 }),
        problems: ['shiftwise:database.migration.command is missing: must be a list of arguments (argv), e.g. ["npm", "run", "migrate"]; ECS runs it without a shell'],
    },
    {
        name: "a zero timeout and a negative soak",
        edit: (c) => (c.database.migration = { command: MIGRATE, timeoutMinutes: 0, stableSoakMinutes: -1 }),
        problems: [
            "shiftwise:database.migration.timeoutMinutes = 0: must be an integer from 1 to 1440; how long the migration may run before shiftwise stops it",
            "shiftwise:database.migration.stableSoakMinutes = -1: must be an integer from 0 to 1440; how long the stable colour is watched on the new schema before the candidate starts",
        ],
    },
    {
        name: "a migration image on :latest",
        edit: (c) => (c.database.migration = { command: MIGRATE, image: "ghcr.io/acme/shop-migrate:latest" }),
        problems: ['shiftwise:database.migration.image = "ghcr.io/acme/shop-migrate:latest": must not use :latest; a rollback cannot restore a moving tag, so pin a version tag or digest'],
    },
    {
        name: "a down command given as one string",
        edit: (c) => (c.database.migration = { command: MIGRATE, downCommand: "npm run migrate:down" }),
        problems: ['shiftwise:database.migration.downCommand = "npm run migrate:down": must be a list of arguments (argv), e.g. ["npm", "run", "migrate"]; ECS runs it without a shell'],
    },
    {
        name: "a migration size Fargate does not run",
        edit: (c) => (c.database.migration = { command: MIGRATE, cpu: 1024, memory: 512 }),
        problems: ["shiftwise:database.migration.memory = 512: is not valid with cpu 1024 on Fargate; use one of 2048, 3072, ..., 8192"],
    },
    {
        name: "a typo in the migration",
        edit: (c) => (c.database.migration = { command: MIGRATE, timeout: 5 }),
        problems: [
            "shiftwise:database.migration.timeout: is not a known key; remove it or fix its spelling (known keys: command, timeoutMinutes, image, downCommand, stableSoakMinutes, cpu, memory, cpuArchitecture)",
        ],
    },
    {
        name: "maintenance on without a reason",
        edit: (c) => (c.maintenance = { enabled: true }),
        problems: ['shiftwise:maintenance.reason is missing: is required when maintenance is enabled; the page and the record say why, e.g. "database upgrade"'],
    },
    {
        name: "maintenance with a reason too long for an ALB fixed response",
        edit: (c) => (c.maintenance = { enabled: true, reason: "<b>".repeat(100) }),
        problems: [`shiftwise:maintenance.reason = "${"<b>".repeat(25)}<...: makes the maintenance page longer than the 1024 characters an ALB fixed response carries; shorten it`],
    },
    {
        name: "maintenance enabled as a word",
        edit: (c) => (c.maintenance = { enabled: "yes", reason: "upgrade" }),
        problems: ['shiftwise:maintenance.enabled = "yes": must be true or false; true makes the service answer 503 with the maintenance page'],
    },
];

describe("config: database.migration and maintenance", () => {
    for (const testCase of INVALID) {
        it(`rejects ${testCase.name} with exact messages`, () => {
            const config = sections();
            testCase.edit(config);
            assert.throws(
                () => parseStackConfig(config),
                (error: unknown) => {
                    assert.ok(error instanceof ConfigError, String(error));
                    assert.deepStrictEqual(error.problems, testCase.problems);
                    return true;
                },
            );
        });
    }

    it("reports migration and maintenance problems together with the others", () => {
        const config = sections();
        config.database.migration = { command: [], timeoutMinutes: 0 };
        config.maintenance = { enabled: true };
        config.traffic = { blue: 70, green: 20 };
        assert.throws(() => parseStackConfig(config), (error: unknown) => {
            assert.ok(error instanceof ConfigError);
            assert.deepStrictEqual(error.problems, [
                "shiftwise:traffic: blue (70) + green (20) = 90; weights must sum to 100",
                'shiftwise:database.migration.command = []: must name a program to run, e.g. ["npm", "run", "migrate"]',
                "shiftwise:database.migration.timeoutMinutes = 0: must be an integer from 1 to 1440; how long the migration may run before shiftwise stops it",
                'shiftwise:maintenance.reason is missing: is required when maintenance is enabled; the page and the record say why, e.g. "database upgrade"',
            ]);
            return true;
        });
    });

    it("fills the defaults", () => {
        const config = sections();
        config.database.migration = { command: MIGRATE };
        const parsed = parseStackConfig(config);
        assert.deepStrictEqual(parsed.database?.migration, { command: MIGRATE, timeoutMinutes: 30, stableSoakMinutes: 10, cpu: 256, memory: 512 });
        assert.deepStrictEqual(parsed.maintenance, { enabled: false });
    });

    it("accepts a reason whose escaped page fits the ALB's 1024 characters, and escapes it", () => {
        const config = sections();
        config.maintenance = { enabled: "true", reason: "x".repeat(700) };
        assert.deepStrictEqual(parseStackConfig(config).maintenance, { enabled: true, reason: "x".repeat(700) });
        assert.ok(maintenancePage("x".repeat(700)).length <= 1024);
        assert.ok(maintenancePage("x".repeat(900)).length > 1024);
        assert.match(maintenancePage(`<script>alert("&")</script>`), /<p>&lt;script&gt;alert\(&quot;&amp;&quot;\)&lt;\/script&gt;<\/p>/);
    });

    it("a bad migration registers no resource", async () => {
        const config = withSection(stackConfig("staging"), "database", { ...JSON.parse(stackConfig("staging")["shiftwise:database"]), migration: { command: "migrate" } });
        const failure = await evaluateFailure(config);
        assert.ok(failure.cause instanceof ConfigError);
        assert.deepStrictEqual(failure.cause.problems, ['shiftwise:database.migration.command = "migrate": must be a list of arguments (argv), e.g. ["npm", "run", "migrate"]; ECS runs it without a shell']);
        assert.deepStrictEqual(failure.resources.map((r) => r.urn), []);
    });
});

describe("migrationRelease: which image the migration runs", () => {
    const parse = (edit: (c: Sections) => void) => {
        const config = sections();
        edit(config);
        return parseStackConfig(config);
    };

    it("is the release colour's image and architecture while a release is under way", () => {
        const config = parse((c) => {
            c.database.migration = { command: MIGRATE };
            c.database.preReleaseSnapshot = "v1.5.0";
            c.green.cpuArchitecture = "ARM64";
        });
        assert.deepStrictEqual(migrationRelease(config), {
            image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:v1.5.0",
            cpuArchitecture: "ARM64",
            release: "v1.5.0",
            colour: "green",
        });
    });

    it("follows snapshotColour, not the weights", () => {
        const config = parse((c) => {
            c.database.migration = { command: MIGRATE };
            c.database.preReleaseSnapshot = "v9";
            c.database.snapshotColour = "blue";
            c.traffic = { blue: 0, green: 100 };
        });
        assert.strictEqual(migrationRelease(config)?.colour, "blue");
        assert.strictEqual(migrationRelease(config)?.image, "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:v1.4.2");
    });

    it("is the explicit image when one is set, even with no release under way", () => {
        const image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-migrations:v7";
        const config = parse((c) => (c.database.migration = { command: MIGRATE, image }));
        assert.deepStrictEqual(migrationRelease(config), { image, cpuArchitecture: "X86_64", release: image });
    });

    it("is nothing without a migration, or with neither an image nor a release", () => {
        assert.strictEqual(migrationRelease(parse(() => undefined)), undefined);
        assert.strictEqual(migrationRelease(parse((c) => (c.database.migration = { command: MIGRATE }))), undefined);
    });
});
