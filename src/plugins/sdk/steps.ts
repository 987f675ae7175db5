// Runs a hook's steps in order, skipping those already passed in an earlier call of the session:
// the first step that reaches a verdict ends the run; a step that passes is checkpointed.
export interface Step<Outcome> {
  name: string;
  run(): Promise<Outcome | undefined>;
}

export async function runSteps<Outcome>(steps: readonly Step<Outcome>[], passed: string[]): Promise<Outcome | undefined> {
  for (const step of steps) {
    if (passed.includes(step.name)) continue;
    const outcome = await step.run();
    if (outcome !== undefined) return outcome;
    passed.push(step.name);
  }
  return undefined;
}
