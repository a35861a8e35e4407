/**
 * Calls `onChange` after files change, debounced. The directories are
 * watched rather than the files: editors and Kubernetes ConfigMap and Secret
 * volumes replace a file by renaming a new one over it (volumes swap a
 * `..data` symlink), which a watch on the old file's inode never reports.
 * So any change in those directories triggers; the caller reads the files
 * again and decides whether anything it cares about changed.
 */
import { type FSWatcher, watch } from 'node:fs';
import { dirname } from 'node:path';

export interface FileWatch {
  close(): void;
}

export function watchFiles(
  paths: readonly string[],
  onChange: () => void,
  options: { readonly debounceMs: number; readonly onError: (error: Error) => void },
): FileWatch {
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const changed = () => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(onChange, options.debounceMs);
    timer.unref();
  };
  const watchers: FSWatcher[] = [...new Set(paths.map((path) => dirname(path)))].map((dir) => {
    const watcher = watch(dir, { persistent: false }, changed);
    watcher.on('error', options.onError);
    return watcher;
  });
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      for (const watcher of watchers) watcher.close();
    },
  };
}
