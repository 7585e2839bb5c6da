/**
 * The directory of the client's config.json: `--config`, else $WHARF_CONFIG, else
 * $DOCKER_CONFIG (as the docker CLI reads it, so both share credentials), else ~/.docker.
 * Kept apart from auth.ts so that every command's start-up does not load the file code.
 */
export function configDir(env: Record<string, string | undefined>, flag?: string): string {
  const dir = flag || env.WHARF_CONFIG || env.DOCKER_CONFIG;
  if (dir) return dir;
  return `${env.HOME || process.getBuiltinModule('node:os').homedir()}/.docker`;
}
