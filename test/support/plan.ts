/** `configstamp plan --output=json` against a cluster, for the end-to-end tests that read what it says. */
import { startConfigstamp } from './process.js';

export interface PlanRow {
  readonly namespace: string;
  readonly kind: string;
  readonly name: string;
  readonly action: string;
  readonly reason?: string;
  readonly why: string;
  readonly sources: readonly string[];
}

/** Runs plan on one namespace (`--namespace`: configstamp's own, where the hash key is); its exit code, output and rows. */
export async function runPlan(
  kubeconfigPath: string,
  namespace: string,
  onlyNamespace: string,
  extra: readonly string[] = [],
): Promise<{ exitCode: number | null; output: unknown; rows: PlanRow[] }> {
  const plan = startConfigstamp([
    'plan',
    `--kubeconfig=${kubeconfigPath}`,
    `--namespace=${namespace}`,
    `--only-namespace=${onlyNamespace}`,
    ...extra,
    '--output=json',
  ]);
  const exitCode = await plan.exited;
  const output = JSON.parse(plan.lines.join('\n')) as { rows: PlanRow[] };
  return { exitCode, output, rows: output.rows };
}
