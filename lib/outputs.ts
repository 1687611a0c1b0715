/** The stack outputs that have a value: Pulumi warns about every undefined one on every run. */
export function definedOutputs<T extends Record<string, unknown>>(outputs: T): Partial<T> {
    return Object.fromEntries(Object.entries(outputs).filter(([, value]) => value !== undefined)) as Partial<T>;
}
