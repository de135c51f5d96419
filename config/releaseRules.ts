// The rules for a release's version label and container image, shared by the colours' schema and the CLI's --version, --image and --migration-image flags (which load only these and zod).
import { z } from "zod";
import { TAG_VALUE } from "./awsRules";

const IMAGE_REFERENCE =
    /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?(?::\d+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

/** A container image pinned by tag or digest: a rollback must be able to restore exactly what ran. */
export const pinnedImage = z
    .string({ error: "must be a container image reference; e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:v1.5.0" })
    .regex(IMAGE_REFERENCE, {
        error: "is not a valid container image reference; use registry/repository:tag or @sha256:digest",
        abort: true,
    })
    .refine((image) => /@sha256:/.test(image) || /:[\w][\w.-]*$/.test(image.split("/").pop() ?? ""), {
        error: "must pin a tag or digest; an untagged image means :latest, which a rollback cannot restore",
    })
    .refine((image) => !/:latest$/.test(image), {
        error: "must not use :latest; a rollback cannot restore a moving tag, so pin a version tag or digest",
    });

/** A colour's release label. It becomes the `shiftwise:version` tag: AWS tag values allow letters, digits, spaces and + - = . _ : / @. */
export const versionLabel = z
    .string({ error: "must be a version label; e.g. v1.5.0" })
    .regex(/^\S{1,128}$/, { error: "must be a non-empty version label without spaces; e.g. v1.5.0", abort: true })
    .regex(TAG_VALUE, { error: "must use only letters, digits and + - = . _ : / @, because it becomes an AWS tag value; e.g. v1.5.0" });
