// The trial code, one chunk loaded on demand (`loadTrialCode` in ../trial.ts): what only a
// record holding a trial, or an app with trials on, runs.
export {
  checkTrial,
  parseTrialMemory,
  parseTrialRecord,
  sealTrial,
  serializeTrialRecord,
} from './memory.js'
export { startTrial, trialStateOf } from './start.js'
