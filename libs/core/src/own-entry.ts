/**
 * `record[key]` when the record has it as its own property, else undefined. Every lookup by a
 * name a client sends (a model, a worker class) goes through here: on a plain object,
 * `record['constructor']` or `record['toString']` is inherited from Object.prototype and would
 * pass for an entry.
 */
export function ownEntry<T>(record: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
}
