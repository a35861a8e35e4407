/**
 * Reading a registries.d directory as containers/image does
 * (docker/registries_d.go `loadAndMergeConfig`): every regular `*.yaml`
 * file of the directory, in name order, parsed and merged
 * (formats/simple-signing/registries-d.ts); a directory that does not exist
 * is an empty configuration. Each file is capped before it is parsed.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { invalid, messageOf } from '../core/errors.ts';
import {
  EMPTY_REGISTRIES_D,
  MAX_REGISTRIES_D_FILE_BYTES,
  mergeRegistriesD,
  parseRegistriesD,
  type RegistriesDConfig,
  type RegistriesDFile,
} from '../formats/simple-signing/registries-d.ts';
import { readCappedFile, type ReadFile } from './material.ts';

/** At most this many files are read from one directory. */
const MAX_FILES = 1000;

export async function loadRegistriesD(
  directory: string,
  readFile: ReadFile = readCappedFile,
): Promise<RegistriesDConfig> {
  let entries;
  try {
    entries = await readdir(directory, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return EMPTY_REGISTRIES_D;
    throw invalid('USAGE', `cannot read registries.d directory ${directory}: ${messageOf(error)}`, {
      cause: error,
    });
  }
  const names = entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.yaml'))
    .map((entry) => entry.name)
    .sort();
  if (names.length > MAX_FILES) {
    throw invalid('USAGE', `registries.d directory ${directory} has more than ${MAX_FILES} files`);
  }
  const files: RegistriesDFile[] = [];
  for (const name of names) {
    const path = join(directory, name);
    const bytes = await readFile(path, MAX_REGISTRIES_D_FILE_BYTES);
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw invalid('USAGE', `${path} is not UTF-8 text`);
    }
    files.push({ where: path, config: parseRegistriesD(text, path) });
  }
  return mergeRegistriesD(files);
}
