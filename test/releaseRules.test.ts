// The release label and image rules (config/releaseRules.ts) on both sides of each part of the image grammar, with the exact messages the colours' schema and the CLI's flags print.
import * as assert from "assert";
import { pinnedImage, versionLabel } from "../config/releaseRules";

/** Every message the rule gives `value`; [] when it accepts it. */
function messages(rule: { safeParse(value: unknown): { success: boolean; error?: { issues: readonly { message: string }[] } } }, value: unknown): string[] {
    const result = rule.safeParse(value);
    return result.success ? [] : (result.error?.issues ?? []).map((issue) => issue.message);
}

const NOT_AN_IMAGE = "is not a valid container image reference; use registry/repository:tag or @sha256:digest";
const UNPINNED = "must pin a tag or digest; an untagged image means :latest, which a rollback cannot restore";
const LATEST = "must not use :latest; a rollback cannot restore a moving tag, so pin a version tag or digest";
const DIGEST = `sha256:${"0123456789abcdef".repeat(4)}`;

describe("release rules: a container image pinned by tag or digest", () => {
    const accepted = [
        "shop:v1.5.0",
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:v1.5.0",
        // A registry host may have capitals and a port; neither is allowed in a repository name.
        "Registry.example.com/shop:v1.5.0",
        "r:5000/shop:v1.5.0",
        // Separators inside a repository name and inside each path component after it.
        "shop.web:v1.5.0",
        "shop_web:v1.5.0",
        "shop--web:v1.5.0",
        "registry/team/shop.web:v1.5.0",
        "registry/team/shop--web:v1.5.0",
        `shop@${DIGEST}`,
        `shop:v1.5.0@${DIGEST}`,
        "shop:latest-2",
    ];
    for (const image of accepted) {
        it(`accepts ${image}`, () => assert.deepStrictEqual(messages(pinnedImage, image), []));
    }

    const refused: [unknown, string[]][] = [
        [42, ["must be a container image reference; e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:v1.5.0"]],
        // Capitals are a host's, never a repository's: the grammar is anchored at the start.
        ["Shop:v1.5.0", [NOT_AN_IMAGE]],
        // And at the end: nothing may follow the tag.
        ["shop:v1.5.0!", [NOT_AN_IMAGE]],
        ["shop:v1.5.0 ", [NOT_AN_IMAGE]],
        // A digest has exactly 64 hex digits.
        ["shop@sha256:0123abc", [NOT_AN_IMAGE]],
        [`shop@${DIGEST}0`, [NOT_AN_IMAGE]],
        // An invalid reference is reported once, not also as unpinned.
        ["Shop", [NOT_AN_IMAGE]],
        ["shop", [UNPINNED]],
        ["registry.example.com:5000/shop", [UNPINNED]],
        ["shop:latest", [LATEST]],
        ["registry/team/shop:latest", [LATEST]],
    ];
    for (const [image, expected] of refused) {
        it(`refuses ${JSON.stringify(image)}: ${expected.join("; ")}`, () => assert.deepStrictEqual(messages(pinnedImage, image), expected));
    }
});

describe("release rules: a version label", () => {
    for (const version of ["v1.5.0", "1", "release/2026-11-28+hotfix.1@eu", "x".repeat(128)]) {
        it(`accepts ${version.length > 20 ? `${version.length} characters` : version}`, () => assert.deepStrictEqual(messages(versionLabel, version), []));
    }

    const SPACES = "must be a non-empty version label without spaces; e.g. v1.5.0";
    const refused: [unknown, string[]][] = [
        [7, ["must be a version label; e.g. v1.5.0"]],
        ["", [SPACES]],
        [" v1.5.0", [SPACES]],
        ["v1.5.0 ", [SPACES]],
        ["x".repeat(129), [SPACES]],
        ["v1.5.0!", ["must use only letters, digits and + - = . _ : / @, because it becomes an AWS tag value; e.g. v1.5.0"]],
        // A label with a space and a character no tag allows is reported once, for the space.
        ["v1 5!", [SPACES]],
    ];
    for (const [version, expected] of refused) {
        it(`refuses ${JSON.stringify(version).slice(0, 40)}: ${expected.join("; ")}`, () => assert.deepStrictEqual(messages(versionLabel, version), expected));
    }
});
