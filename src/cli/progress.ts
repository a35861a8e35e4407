/**
 * A one-line progress display for copies, drawn on stderr only when stderr is
 * a terminal, redrawn at most every 100 ms. Pipes and CI logs get nothing.
 */
import type { CopyEvent } from '../registry/copy.ts';
import type { CliIO } from './io.ts';

const REDRAW_MS = 100;

export interface Progress {
  readonly onEvent: (event: CopyEvent) => void;
  finish(): void;
}

export function copyProgress(io: CliIO, label: string): Progress {
  if (io.stderr.isTTY !== true) return { onEvent: () => {}, finish: () => {} };
  const sent = new Map<string, number>();
  const sizes = new Map<string, number>();
  let done = 0;
  let manifests = 0;
  let last = 0;
  const draw = (force: boolean) => {
    const now = Date.now();
    if (!force && now - last < REDRAW_MS) return;
    last = now;
    const total = [...sizes.values()].reduce((a, b) => a + b, 0);
    const moved = [...sent.values()].reduce((a, b) => a + b, 0);
    const line = `${label}: blobs ${done}/${sizes.size}, ${formatBytes(moved)} of ${formatBytes(total)}, manifests ${manifests}`;
    io.stderr.write(`\r\x1b[K${line.slice(0, (io.stderr.columns ?? 100) - 1)}`);
  };
  return {
    onEvent(event) {
      switch (event.type) {
        case 'blob-start':
          sizes.set(event.descriptor.digest, event.descriptor.size);
          break;
        case 'blob-progress':
          sent.set(event.descriptor.digest, event.bytes);
          break;
        case 'blob-done':
          done++;
          sent.set(event.descriptor.digest, event.descriptor.size);
          break;
        case 'manifest':
          manifests++;
          break;
      }
      draw(event.type !== 'blob-progress');
    },
    finish() {
      io.stderr.write('\r\x1b[K');
    },
  };
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}
