/**
 * Faults of the lake folder: one bronze file corrupted (and put back), and one partition folder
 * whose disk is full (a small tmpfs mounted on it and filled; where mounting is not allowed, the
 * reason is returned and the fault is skipped).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Corruption } from './schedule.js';

/** The bronze partition folder of a source and date in a state folder's lake. */
export function partitionDir(home: string, source: string, runDate: string): string {
  return join(home, 'lake', 'bronze', source, `dt=${runDate}`);
}

/** The data files of a partition (no hidden temporaries), sorted. */
export function partitionFiles(home: string, source: string, runDate: string): string[] {
  const dir = partitionDir(home, source, runDate);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.startsWith('part-'))
    .sort()
    .map((name) => join(dir, name));
}

/** A corrupted file and how to put it back. */
export interface CorruptedFile {
  readonly path: string;
  /** The lake key (`bronze/<source>/dt=<date>/part-...`), as errors name it. */
  readonly key: string;
  readonly how: Corruption;
  restore(): void;
}

/**
 * Corrupt the first file of a partition: `garble` overwrites bytes in place (same size, so only the
 * engine finds it: the Parquet footer, or a JSONL line's opening brace), `truncate` cuts it in half,
 * `delete` removes it.
 */
export function corruptFile(home: string, source: string, runDate: string, how: Corruption): CorruptedFile {
  const path = partitionFiles(home, source, runDate)[0];
  if (!path) throw new Error(`no ${source} file of ${runDate} to corrupt`);
  const original = readFileSync(path);
  if (how === 'delete') unlinkSync(path);
  else if (how === 'truncate') writeFileSync(path, original.subarray(0, Math.floor(original.length / 2)));
  else {
    const garbled = Buffer.from(original);
    if (source === 'sales') garbled.fill(0, garbled.length - 8);
    else {
      // The opening brace of a line in the middle: that line is no JSON object any more (bytes
      // inside a string value could leave it valid JSON).
      const line = garbled.indexOf(0x0a, Math.floor(garbled.length / 2)) + 1;
      if (line === 0 || line >= garbled.length) throw new Error(`${path} has no line to garble`);
      garbled[line] = 0x78;
    }
    writeFileSync(path, garbled);
  }
  const key = path.slice(join(home, 'lake').length + 1);
  return { path, key, how, restore: () => writeFileSync(path, original) };
}

/** A partition folder on a full tmpfs; `free` removes the filler, `unmount` puts the folder back on the disk. */
export interface FullDisk {
  readonly dir: string;
  free(): void;
  unmount(): void;
}

/**
 * Mount a 16 MB tmpfs on a partition folder (before anything is written there) and fill it, so the
 * stage writing it gets ENOSPC. Resolves to the reason instead when mounting is not possible here
 * (not root, no `mount`, a container without CAP_SYS_ADMIN).
 */
/** Size of the tmpfs: filled whole until freed, then room for any partition of the suite's scales. */
const TMPFS_BYTES = 16 * 1024 * 1024;

export function fillDisk(home: string, source: string, runDate: string): FullDisk | { skipped: string } {
  const dir = partitionDir(home, source, runDate);
  mkdirSync(dir, { recursive: true });
  if (process.platform !== 'linux') return { skipped: `tmpfs mounts need Linux (this is ${process.platform})` };
  if (process.getuid?.() !== 0)
    return { skipped: 'mounting a tmpfs needs root, and RLIMIT_FSIZE cannot be set on a running service here' };
  try {
    // Room for the partition once freed (a day's clickstream is larger than 64 KB at scale 0.25).
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_BYTES},mode=0755`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    return { skipped: `mount -t tmpfs failed: ${String((error as { stderr?: Buffer }).stderr ?? error).trim()}` };
  }
  const filler = join(dir, '.filler');
  try {
    writeFileSync(filler, Buffer.alloc(TMPFS_BYTES + 4096));
  } catch {
    // ENOSPC: the filler took what there was.
  }
  let mounted = true;
  return {
    dir,
    free: () => rmSync(filler, { force: true }),
    unmount: () => {
      if (!mounted) return;
      mounted = false;
      // Keep what the stage wrote: copy it out, unmount, copy it back onto the disk.
      const kept = readdirSync(dir)
        .filter((name) => name !== '.filler')
        .map((name) => ({ name, bytes: readFileSync(join(dir, name)) }));
      execFileSync('umount', [dir], { stdio: 'pipe' });
      for (const file of kept) writeFileSync(join(dir, file.name), file.bytes);
    },
  };
}
