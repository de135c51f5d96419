// The plan's deployment-safety section: alarms, the pre-release snapshot and backups.
import type { CapturedResource, ProgramEvaluation } from "../evaluation/mockRuntime";
import type { StackPlan } from "./stackPlan";
import { textTable } from "../rollout/textTable";

const DEPLOYMENT_ALARMS = "shiftwise:safety:DeploymentAlarms";
const METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm";
const COMPOSITE_ALARM = "aws:cloudwatch/compositeAlarm:CompositeAlarm";
const SNAPSHOT = "aws:rds/snapshot:Snapshot";
const INSTANCE = "aws:rds/instance:Instance";
const BACKUP_PLAN = "aws:backup/plan:Plan";
const BACKUP_VAULT = "aws:backup/vault:Vault";

type Inputs = Record<string, any>;

/**
 * The `shiftwise plan` section on deployment safety: each colour's alarms
 * with their thresholds, the pre-release snapshot and how to restore it, and
 * the backup plan. Everything is read from the evaluated resource graph and
 * the stack outputs, so it shows what `pulumi up` would create.
 */
export function renderSafety(plan: StackPlan): string {
    return [renderAlarms(plan), renderSnapshot(plan), renderBackups(plan)].join("\n\n");
}

/** One colour's composite alarm and the metric alarms it combines, in the composite rule's order. */
export interface AlarmGroup {
    readonly composite: string;
    readonly alarms: readonly { readonly name: string; readonly threshold: string; readonly description: string }[];
}

/** The composite alarm of each colour and the alarms it combines, as data (`plan --json` carries it). */
export function alarmGroups(plan: Pick<StackPlan, "evaluation">): AlarmGroup[] {
    return plan.evaluation.resources
        .filter((r) => r.type === DEPLOYMENT_ALARMS)
        .map((component) => {
            const children = childrenOf(plan.evaluation, component);
            const composite = children.find((r) => r.type === COMPOSITE_ALARM);
            // In the composite rule's order, so the section reads like the rule the driver watches.
            const order = [...String(composite?.inputs.alarmRule ?? "").matchAll(/ALARM\("([^"]+)"\)/g)].map((match) => match[1]);
            const rank = (name: unknown) => (order.includes(String(name)) ? order.indexOf(String(name)) : order.length);
            const metricAlarms = children.filter((r) => r.type === METRIC_ALARM).sort((a, b) => rank(a.inputs.name) - rank(b.inputs.name));
            return {
                composite: String(composite?.inputs.alarmName ?? component.name),
                alarms: metricAlarms.map((alarm) => ({ name: String(alarm.inputs.name), threshold: describeThreshold(alarm.inputs), description: String(alarm.inputs.alarmDescription) })),
            };
        });
}

/** The composite alarm of each colour and the alarms it combines. */
export function renderAlarms(plan: Pick<StackPlan, "config" | "evaluation">): string {
    const { alarms } = plan.config;
    const lines = [
        `Deployment alarms (each minute; ALARM when ${alarms.datapointsToAlarm} of ${alarms.evaluationPeriods} minutes breach; notify ${String(plan.evaluation.outputs.notificationTopicArn ?? "no topic")})`,
    ];
    for (const group of alarmGroups(plan)) {
        lines.push(`  ${group.composite}: ALARM when any of these is`);
        lines.push(...textTable([], group.alarms.map((alarm) => [alarm.name, alarm.threshold, alarm.description]), "    "));
    }
    return lines.join("\n");
}

/** The pre-release snapshot, which colours wait for it, and the restore command. */
export function renderSnapshot(plan: Pick<StackPlan, "evaluation">): string {
    const snapshots = plan.evaluation.resources.filter((r) => r.type === SNAPSHOT);
    const output = plan.evaluation.outputs.preReleaseSnapshot as Inputs | null | undefined;
    if (snapshots.length === 0 || !output) {
        const hasDatabase = plan.evaluation.resources.some((r) => r.type === INSTANCE) || Boolean(plan.evaluation.outputs.database);
        return hasDatabase
            ? "Pre-release snapshot: none; set shiftwise:database.preReleaseSnapshot to the release label before a release that migrates the database"
            : "Pre-release snapshot: none; the stack has no database";
    }
    const retained = snapshots.every((snapshot) => snapshot.options.retainOnDelete);
    const colours = output.colours as string[];
    const ordering = colours.length > 0
        ? `before ${colours.join(" and ")} start${colours.length === 1 ? "s" : ""} new tasks`
        : "but no colour waits for it: the label matches neither colour's version (set shiftwise:database.snapshotColour to gate the release colour)";
    return [
        `Pre-release snapshot for ${output.label}`,
        `  ${output.identifier} of ${snapshots[0].inputs.dbInstanceIdentifier}: the next \`up\` takes it if it does not exist yet, ${ordering}${retained ? "; kept in AWS when a later label replaces it" : ""}`,
        `  restore: ${output.restoreCommand}`,
    ].join("\n");
}

/** The AWS Backup rules and the RDS automated backups, as data (`plan --json` carries it). */
export function backupsOf(plan: Pick<StackPlan, "evaluation">): object {
    const vault = plan.evaluation.resources.find((r) => r.type === BACKUP_VAULT);
    const instance = plan.evaluation.resources.find((r) => r.type === INSTANCE);
    return {
        rules: plan.evaluation.resources
            .filter((r) => r.type === BACKUP_PLAN)
            .flatMap((backupPlan) =>
                ((backupPlan.inputs.rules ?? []) as Inputs[]).map((rule) => ({
                    plan: backupPlan.inputs.name,
                    rule: rule.ruleName,
                    schedule: rule.schedule,
                    vault: vault?.inputs.name ?? rule.targetVaultName,
                    kmsEncrypted: Boolean(vault?.inputs.kmsKeyArn),
                    deleteAfterDays: rule.lifecycle?.deleteAfter,
                })),
            ),
        rds: instance
            ? {
                  instance: instance.inputs.identifier,
                  retentionDays: instance.inputs.backupRetentionPeriod,
                  retainedAfterDeletion: !instance.inputs.deleteAutomatedBackups,
                  finalSnapshot: instance.inputs.skipFinalSnapshot ? null : instance.inputs.finalSnapshotIdentifier,
              }
            : null,
    };
}

/** The AWS Backup plan and the RDS automated backups. */
export function renderBackups(plan: Pick<StackPlan, "evaluation">): string {
    const backupPlans = plan.evaluation.resources.filter((r) => r.type === BACKUP_PLAN);
    const vault = plan.evaluation.resources.find((r) => r.type === BACKUP_VAULT);
    const instance = plan.evaluation.resources.find((r) => r.type === INSTANCE);
    if (backupPlans.length === 0) return "Backups: none; the stack has no database";
    const lines = ["Backups"];
    for (const backupPlan of backupPlans) {
        for (const rule of (backupPlan.inputs.rules ?? []) as Inputs[]) {
            lines.push(
                `  AWS Backup plan ${backupPlan.inputs.name}, rule ${rule.ruleName}: ${rule.schedule} (UTC) into vault ${vault?.inputs.name ?? rule.targetVaultName}${vault?.inputs.kmsKeyArn ? " (KMS-encrypted)" : ""}, kept ${rule.lifecycle?.deleteAfter} days`,
            );
        }
    }
    if (instance) {
        lines.push(
            `  RDS automated backups of ${instance.inputs.identifier}: kept ${instance.inputs.backupRetentionPeriod} days, retained after deletion ${!instance.inputs.deleteAutomatedBackups}, final snapshot ${instance.inputs.skipFinalSnapshot ? "skipped" : instance.inputs.finalSnapshotIdentifier}`,
        );
    }
    return lines.join("\n");
}

function childrenOf(evaluation: ProgramEvaluation, parent: CapturedResource): CapturedResource[] {
    return evaluation.resources.filter((resource) => resource.parent === parent.urn);
}

const OPERATORS: Record<string, string> = {
    GreaterThanThreshold: ">",
    GreaterThanOrEqualToThreshold: ">=",
    LessThanThreshold: "<",
    LessThanOrEqualToThreshold: "<=",
};

/** `p99 TargetResponseTime > 0.8` or `excess > 0`: the value compared and the threshold. */
function describeThreshold(inputs: Inputs): string {
    const operator = OPERATORS[String(inputs.comparisonOperator)] ?? String(inputs.comparisonOperator);
    const returned = ((inputs.metricQueries ?? []) as Inputs[]).find((query) => query.returnData);
    const subject = returned ? returned.id : `${inputs.extendedStatistic ?? inputs.statistic} ${inputs.metricName}`;
    const unit = inputs.metricName === "TargetResponseTime" ? " s" : "";
    return `[${subject} ${operator} ${inputs.threshold}${unit}]`;
}
