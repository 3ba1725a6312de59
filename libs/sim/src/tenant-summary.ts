import type { SimResult } from './sim-types.js';
import type { TenantMix } from './tenant-mix.js';

const ms = (value: number): string => (value >= 10_000 ? `${(value / 1000).toFixed(1)}s` : value >= 100 ? value.toFixed(0) : value.toFixed(1));

/**
 * Per policy and tenant: p50 / p99 alone (`solo[t][i]`: tenant t's run of policy i with the other
 * tenants' arrivals dropped) and shared (`shared[i]`), and the shared p99 over the solo one.
 */
export function formatTenantTable(mix: TenantMix, shared: readonly SimResult[], solo: readonly (readonly SimResult[])[]): string {
  const total = mix.cumulative.at(-1) ?? 1;
  const rows: string[][] = [['policy', 'tenant', 'share', 'weight', 'jobs', 'alone p50 / p99 ms', 'shared p50 / p99 ms', 'p99 shared/alone']];
  shared.forEach((result, i) => {
    mix.names.forEach((name, t) => {
      const share = ((mix.cumulative[t] as number) - (t === 0 ? 0 : (mix.cumulative[t - 1] as number))) / total;
      const alone = solo[t]?.[i]?.byTenant[name];
      const both = result.byTenant[name];
      rows.push([
        result.policy,
        name,
        `${(share * 100).toFixed(1)} %`,
        String(mix.weights[t]),
        String(both?.jobs ?? 0),
        alone === undefined ? '-' : `${ms(alone.p50Ms)} / ${ms(alone.p99Ms)}`,
        both === undefined ? '-' : `${ms(both.p50Ms)} / ${ms(both.p99Ms)}`,
        alone === undefined || both === undefined || alone.p99Ms === 0 ? '-' : `${(both.p99Ms / alone.p99Ms).toFixed(2)}×`,
      ]);
    });
  });
  const widths = (rows[0] as string[]).map((_, c) => Math.max(...rows.map((row) => (row[c] as string).length)));
  return rows.map((row) => row.map((cell, c) => (c < 2 ? cell.padEnd(widths[c] as number) : cell.padStart(widths[c] as number))).join('  ')).join('\n');
}
