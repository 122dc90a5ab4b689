import { TrustError } from '../agent/errors.js';

/**
 * Loads a package that only one subcommand needs (declared as an optional peer dependency, so a firmware project
 * does not install it). When it is missing the error names the package to install instead of a bare
 * ERR_MODULE_NOT_FOUND from deep inside the bundle.
 */
export async function importOptional<T>(load: () => Promise<T>, name: string, neededFor: string): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') throw error;
    throw new TrustError('INVALID_CONFIG', `${neededFor} needs the optional package '${name}': install it with npm install ${name}`, { cause: error });
  }
}
