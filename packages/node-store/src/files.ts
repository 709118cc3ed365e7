// `@keygate/node-store/files`: how the store treats the files it owns, for a package that
// keeps its own beside the record (the Electron adapter's sealed key) to treat them alike.
export { renameAside } from './aside-copies.js'
export { readOwnedFile, UNUSABLE } from './owned-file.js'
