// CPU time and resident memory of processes, from /proc.
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ: 100 on Linux). */
const TICKS = 100;

export interface Proc {
  /** What it is: "gateway app", "myrecipe sidecar", "PostgreSQL"… */
  name: string;
  pids: () => number[];
}

/** CPU time (user + system) of a process so far, in ms; 0 once it is gone. */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS;
  } catch {
    return 0;
  }
}

/** Resident memory of a process, in MB. */
export function rssMb(pid: number): number {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Every process whose command name is `comm` (e.g. every PostgreSQL backend). */
export function pidsNamed(comm: string): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === comm;
      } catch {
        return false;
      }
    });
}

export type CpuSnapshot = Map<string, number>;

export function snapshot(procs: Proc[]): CpuSnapshot {
  return new Map(procs.map((p) => [p.name, p.pids().reduce((sum, pid) => sum + cpuMs(pid), 0)]));
}

/** CPU ms spent by each process between two snapshots. */
export function spent(before: CpuSnapshot, after: CpuSnapshot): Map<string, number> {
  return new Map([...after].map(([name, ms]) => [name, Math.max(0, ms - (before.get(name) ?? 0))]));
}

export function memory(procs: Proc[]): Map<string, number> {
  return new Map(procs.map((p) => [p.name, p.pids().reduce((sum, pid) => sum + rssMb(pid), 0)]));
}
