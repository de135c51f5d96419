// The rollout functions the CLI calls, each loading its module on its first call, so `shiftwise plan`, --help, --version and flag errors never load the rollout.
/* eslint-disable @typescript-eslint/no-require-imports */

/**
 * `lazily(load, "name")` has the type of the module's export `name` and
 * loads the module (`require`, so synchronous callers work too) only when
 * it is first called. `typeof import(…)` is a type: it loads nothing.
 */
function lazily<M, K extends keyof M>(load: () => M, name: K): M[K] {
    return ((...args: unknown[]) => (load()[name] as (...args: unknown[]) => unknown)(...args)) as M[K];
}

const driver = () => require("../rollout/driver") as typeof import("../rollout/driver");
const dryRunModule = () => require("../rollout/dryRun") as typeof import("../rollout/dryRun");
const goNoGo = () => require("../rollout/goNoGo") as typeof import("../rollout/goNoGo");
const history = () => require("../rollout/history") as typeof import("../rollout/history");
const ledgerSession = () => require("../rollout/ledgerSession") as typeof import("../rollout/ledgerSession");
const maintenanceRequest = () => require("../rollout/maintenanceRequest") as typeof import("../rollout/maintenanceRequest");
const live = () => require("../rollout/liveStatus") as typeof import("../rollout/liveStatus");
const migrationDown = () => require("../rollout/migrationDown") as typeof import("../rollout/migrationDown");
const maintenance = () => require("../rollout/maintenance") as typeof import("../rollout/maintenance");
const records = () => require("../rollout/records") as typeof import("../rollout/records");
const reporter = () => require("../rollout/reporter") as typeof import("../rollout/reporter");
const requests = () => require("../rollout/requests") as typeof import("../rollout/requests");
const smoke = () => require("../rollout/smoke") as typeof import("../rollout/smoke");
const rollback = () => require("../rollout/rollback") as typeof import("../rollout/rollback");
const stackView = () => require("../rollout/stackView") as typeof import("../rollout/stackView");
const status = () => require("../rollout/status") as typeof import("../rollout/status");
const trips = () => require("../rollout/trips") as typeof import("../rollout/trips");

export const deploy = lazily(driver, "deploy");
export const resume = lazily(driver, "resume");
export const dryRun = lazily(dryRunModule, "dryRun");
export const renderDryRun = lazily(dryRunModule, "renderDryRun");
export const predecessorProblems = lazily(goNoGo, "predecessorProblems");
export const recoveryPointVerdict = lazily(goNoGo, "recoveryPointVerdict");
export const deliveryMetrics = lazily(history, "deliveryMetrics");
export const historyEntry = lazily(history, "historyEntry");
export const renderHistory = lazily(history, "renderHistory");
export const leasedRollback = lazily(ledgerSession, "leasedRollback");
export const runLeased = lazily(ledgerSession, "runLeased");
export const liveStatus = lazily(live, "liveStatus");
export const renderLiveStatus = lazily(live, "renderLiveStatus");
export const rollbackThenMigrateDown = lazily(migrationDown, "rollbackThenMigrateDown");
export const setMaintenance = lazily(maintenance, "setMaintenance");
export const maintenanceRequestProblems = lazily(maintenanceRequest, "maintenanceRequestProblems");
export const nodeFetcher = lazily(smoke, "nodeFetcher");
export const lineReporter = lazily(reporter, "lineReporter");
export const sendRequest = lazily(requests, "sendRequest");
export const rollbackCommand = lazily(rollback, "rollbackCommand");
export const shiftwiseConfig = lazily(stackView, "shiftwiseConfig");
export const renderStatus = lazily(status, "renderStatus");
export const stackStatus = lazily(status, "stackStatus");
export const checkDriverTrips = lazily(trips, "checkDriverTrips");
export const clearTrips = lazily(trips, "clearTrips");
export const renderTrips = lazily(trips, "renderTrips");

/** `new RecordStore(…)`, loading rollout/records.ts (and its zod schema) on the first call. */
export function recordStore(...args: ConstructorParameters<typeof import("../rollout/records").RecordStore>): import("../rollout/records").RecordStore {
    return new (records().RecordStore)(...args);
}
