#!/usr/bin/env node
import { run } from './cli.js'

// `keygate keys list | head`: a reader that stops early is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error
    process.exit(process.exitCode ?? 0)
  })
}

// The bin entry (`keygate`): everything else lives in cli.ts, which index.ts exports.
process.exitCode = await run(process.argv.slice(2), {
  env: process.env,
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  now: Date.now,
  stdin: process.stdin,
})
