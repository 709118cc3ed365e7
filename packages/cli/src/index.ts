// The library entry: importing the package runs nothing. The `keygate` command is bin.ts.

export { run } from './cli.js'
export type { Io } from './context.js'
