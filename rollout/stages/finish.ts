// The rollout's finish stage: the release serves 100 % and the record says so.
import type { Stage } from "./context";

/** Marks the record succeeded; the old colour stays warm for `shiftwise rollback`. */
export const finishStage: Stage = {
    name: "finish",
    async run(context) {
        const { record } = context;
        record.status = "succeeded";
        await context.stage("finish", async () => `${record.version} serves 100% on ${context.candidate}; ${context.stable} stays warm for \`shiftwise rollback\``);
        context.finishRecord();
    },
};
