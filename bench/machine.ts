// How busy the machine is before the run: other processes on the same cores distort every figure, so the
// report says when they were there.
import { readFile } from 'node:fs/promises'

/** Share of all cores' time spent busy over `ms` milliseconds (0-1), from /proc/stat; `null` off Linux. */
export async function busyShare(ms = 1000): Promise<number | null> {
  const first = await cpuTimes()
  if (first === null) return null
  await new Promise((resolve) => setTimeout(resolve, ms))
  const second = await cpuTimes()
  if (second === null) return null
  const total = second.total - first.total
  return total <= 0 ? null : 1 - (second.idle - first.idle) / total
}

async function cpuTimes(): Promise<{ total: number, idle: number } | null> {
  try {
    const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? ''
    const fields = line.trim().split(/\s+/).slice(1).map(Number)
    // user nice system idle iowait irq softirq steal
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0)
    return { total: fields.slice(0, 8).reduce((a, b) => a + b, 0), idle }
  } catch {
    return null
  }
}
