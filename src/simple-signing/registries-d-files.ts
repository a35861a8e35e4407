/**
 * Finding and reading the registries.d directory as containers/image does
 * (https://github.com/containers/image/blob/main/docker/registries_d.go
 * `registriesDirPathWithHomeDir`, `loadAndMergeConfig`): the directory the
 * caller names (`--registries.d`), else `$HOME/.config/containers/registries.d`
 * when it exists, else `/etc/containers/registries.d` — one of them, never
 * merged. Every `*.yaml` in it is read (other names are ignored, as are
 * files removed while the directory is read); a missing directory
 * configures nothing. Files are read in name order, so an error naming two
 * files is the same on every run (Go reads them in directory order).
 */
import { access, readdir } from 'node:fs/promises';
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
import type {} from './error-codes.ts';
import { readFileCapped } from './files.ts';

/** containers/image `builtinRegistriesDirPath`. */
export const SYSTEM_REGISTRIES_D = '/etc/containers/registries.d';
/** More `*.yaml` files than this in one directory is refused rather than read. */
export const MAX_REGISTRIES_D_FILES = 1000;

/**
 * The registries.d directory to read: `override` if given, else the user's
 * (`home`/.config/containers/registries.d) if it exists, else the system's.
 * The CLI passes `home` from the environment.
 */
export async function registriesDDirectory(options: {
  readonly override?: string;
  readonly home?: string;
}): Promise<string> {
  if (options.override !== undefined) return options.override;
  if (options.home !== undefined) {
    const user = join(options.home, '.config/containers/registries.d');
    try {
      await access(user);
      return user;
    } catch {
      // no user directory: the system's
    }
  }
  return SYSTEM_REGISTRIES_D;
}

/** Every `*.yaml` of `directory`, parsed and merged (registries-d.ts). */
export async function loadRegistriesD(directory: string): Promise<RegistriesDConfig> {
  let names: string[];
  try {
    names = await readdir(directory);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return EMPTY_REGISTRIES_D;
    throw invalid(
      'REGISTRIES_D_UNREADABLE',
      `cannot read the registries.d directory ${directory}: ${messageOf(error)}`,
      { cause: error },
    );
  }
  const yamlNames = names.filter((name) => name.endsWith('.yaml')).sort();
  if (yamlNames.length > MAX_REGISTRIES_D_FILES) {
    throw invalid(
      'REGISTRIES_D_UNREADABLE',
      `${directory} holds ${yamlNames.length} .yaml files; at most ${MAX_REGISTRIES_D_FILES} are read`,
    );
  }
  const files: RegistriesDFile[] = [];
  for (const name of yamlNames) {
    const path = join(directory, name);
    const bytes = await readFileCapped(path, MAX_REGISTRIES_D_FILE_BYTES, {
      tooLarge: (size) =>
        invalid(
          'REGISTRIES_D_INVALID',
          `${path}: ${size} bytes, larger than ${MAX_REGISTRIES_D_FILE_BYTES}; not a registries.d file`,
        ),
      unreadable: (problem, cause) =>
        invalid('REGISTRIES_D_UNREADABLE', `registries.d file ${path} ${problem}`, { cause }),
    });
    if (bytes === undefined) continue; // removed since the listing, as upstream tolerates
    let text: string;
    try {
      // yaml.v3 refuses invalid UTF-8 rather than read replacement characters.
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw invalid('REGISTRIES_D_INVALID', `${path}: not UTF-8 text`);
    }
    files.push({ where: path, config: parseRegistriesD(text, path) });
  }
  return mergeRegistriesD(files);
}
