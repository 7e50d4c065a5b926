//! What talks to running daemons: the RPC client, the health probes, iguana's
//! start-up calls, and the compose file generator.

pub mod compose;
pub mod iguana;
pub mod monitor;
pub mod probe;
pub mod rpc;
pub mod utxos;
