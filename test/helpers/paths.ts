/** Where the sample's tests find the service: the processes they start run from the repository root, as `npm start` does. */
import { fileURLToPath } from 'node:url'

/** The repository root (this file is test/helpers/paths.ts), with a trailing separator. */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** The service's entry point relative to {@link REPO_ROOT}: what `npm start` runs with tsx. */
export const SERVER_ENTRY = 'src/server.ts'
