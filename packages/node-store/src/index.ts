export {
  createFileLock,
  type FileLock,
  type FileLockOptions,
} from './create-file-lock.js'
export { createFileStore, type FileStore, type FileStoreOptions } from './file-store.js'
export {
  commandSource,
  defaultMachineIdSources,
  fileSource,
  type MachineIdSource,
} from './machine-id-sources.js'
export {
  type KeyringEntry,
  type KeyringModule,
  type NodeKeychainOptions,
  nodeKeychain,
} from './node-keychain.js'
export { type NodeMachine, type NodeMachineOptions, nodeMachine } from './node-machine.js'
export { appDataDir } from './paths.js'
