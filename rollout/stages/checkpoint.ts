// The rollout's checkpoint stage: the record (config, outputs, versions) is on disk before anything changes.
import type { Stage } from "./context";

/** Records the checkpoint once; a resumed deployment already has it. */
export const checkpointStage: Stage = {
    name: "checkpoint",
    async run(context) {
        const { deps, record } = context;
        if (record.stages.some((stage) => stage.name === "checkpoint")) return;
        const file = deps.records.save(record);
        await context.stage("checkpoint", async () => `config, outputs and versions recorded in ${file}`);
    },
};
