import { ConfigMap, ProgramEvaluation, evaluate } from "./harness";

/**
 * Evaluations shared by the safety tests: the same stack and config always
 * produce the same captured graph, so one evaluation serves every test file
 * that asks for it. Callers must treat the result as read-only.
 */
const cache = new Map<string, Promise<ProgramEvaluation>>();

export function evaluateOnce(config: ConfigMap, stack: string): Promise<ProgramEvaluation> {
    const key = `${stack}\n${JSON.stringify(Object.entries(config).sort())}`;
    let evaluation = cache.get(key);
    if (!evaluation) {
        evaluation = evaluate(config, stack);
        evaluation.catch(() => cache.delete(key));
        cache.set(key, evaluation);
    }
    return evaluation;
}
