export { ConsensusEngine, type EngineOptions, type Outbox } from './engine.js';
export { ChainTip, NodeCodes, type CommittedInfo } from './chain-tip.js';
export { chainOps, type Execution, type State } from './chain-ops.js';
export { encodeMsg, decodeMsg, type WireMsg, type ProposalMsg, type VoteMsg } from './messages.js';
