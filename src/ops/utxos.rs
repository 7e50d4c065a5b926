//! The notary's notarisation UTXOs: every dPoW round spends one output of
//! exactly 10000 satoshis (0.0001 coin; iguana's `DPOW_UTXOSIZE`,
//! iguana/dPoW.h and `dpow_utxosize`, iguana/dpow/dpow_rpc.c) per coin. A
//! coin that runs out cannot sign. Counting them is `listunspent` on the
//! coin's daemon; topping them up is iguana's `splitfunds`, as operators do
//! it by hand (iguana/acsplit).

use std::time::Duration;

use crate::config::{Chain, Config};
use crate::json;
use crate::ops::probe::rpc_host;
use crate::ops::rpc;
use crate::secrets::creds::Credentials;

/// iguana's notarisation UTXO, in satoshis. (GAME, EMC2, AYA and MIL use
/// 100000 upstream; none of them is a komodod chain.)
pub const UTXO_SATOSHIS: u64 = 10_000;

/// A coin's notarisation UTXOs and balance, as its daemon reports them.
#[derive(Debug, Clone, PartialEq)]
pub struct Count {
    /// Spendable outputs of exactly `UTXO_SATOSHIS` (to the notary's
    /// address when it is known).
    pub utxos: u32,
    /// `getbalance`, in coins.
    pub balance: f64,
}

/// An amount of coins as komodod writes it (`0.00010000`) in satoshis.
fn satoshis(raw: &str) -> Option<u64> {
    let coins: f64 = raw.trim().parse().ok()?;
    (coins >= 0.0).then(|| (coins * 1e8).round() as u64)
}

/// The notarisation-size outputs of a `listunspent` answer, to `address`
/// when given. Outputs the daemon says are not spendable do not count.
pub fn count_in(listunspent: &str, address: Option<&str>) -> Option<u32> {
    let mut n = 0;
    for item in json::items(listunspent)? {
        let amount = json::member(item, "amount").and_then(satoshis);
        if amount != Some(UTXO_SATOSHIS) {
            continue;
        }
        if json::member(item, "spendable") == Some("false") {
            continue;
        }
        if let Some(address) = address {
            let to = json::member(item, "address").and_then(json::string);
            if to.as_deref() != Some(address) {
                continue;
            }
        }
        n += 1;
    }
    Some(n)
}

/// Asks the chain's daemon at its `host` for its UTXOs and balance.
pub fn count(
    chain: &Chain,
    creds: &Credentials,
    address: Option<&str>,
    timeout: Duration,
) -> Result<Count, String> {
    let (host, port) = (rpc_host(chain), chain.rpc_port());
    let ask = |method: &str| {
        rpc::json_rpc(host, port, creds, method, "[]", timeout)
            .map_err(|e| format!("{method} at {host}:{port}: {e}"))
    };
    let unspent = ask("listunspent")?;
    let utxos = count_in(&unspent, address)
        .ok_or_else(|| format!("listunspent at {host}:{port}: not a JSON array"))?;
    let balance = ask("getbalance")?;
    let balance = balance
        .trim()
        .parse::<f64>()
        .map_err(|_| format!("getbalance at {host}:{port}: not a number"))?;
    Ok(Count { utxos, balance })
}

/// Whether a coin needs more UTXOs.
pub fn is_low(config: &Config, count: &Count) -> bool {
    count.utxos < config.utxos.min
}

/// iguana's `splitfunds` for a coin: `duplicates` new outputs of
/// `UTXO_SATOSHIS` each, sent (`sendflag` 1), as iguana/acsplit does.
pub fn splitfunds_call(chain: &Chain, duplicates: u32) -> String {
    let mut body = String::from(r#"{"agent":"iguana","method":"splitfunds","coin":"#);
    json::string_literal(&mut body, &chain.name);
    body.push_str(&format!(
        r#","satoshis":"{UTXO_SATOSHIS}","sendflag":1,"duplicates":{duplicates}}}"#
    ));
    body
}

/// Sends `splitfunds` to iguana on 127.0.0.1:`port`; the txid it made, or
/// why not (iguana's own `error`, e.g. "need to unlock wallet").
pub fn split(
    chain: &Chain,
    duplicates: u32,
    port: u16,
    timeout: Duration,
) -> Result<String, String> {
    let call = splitfunds_call(chain, duplicates);
    let reply = rpc::post("127.0.0.1", port, None, call.as_bytes(), timeout)
        .map_err(|e| format!("iguana at 127.0.0.1:{port}: {e}"))?
        .text();
    if let Some(error) = json::member(&reply, "error").and_then(json::string) {
        return Err(format!("iguana: {error}"));
    }
    match json::member(&reply, "txid").and_then(json::string) {
        Some(txid) => Ok(txid),
        None => Err(format!(
            "iguana answered without a txid: {}",
            rpc::printable(&reply)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNSPENT: &str = r#"[
        {"txid":"aa","vout":0,"address":"RNotary","amount":0.00010000,"spendable":true},
        {"txid":"aa","vout":1,"address":"RNotary","amount":0.0001,"spendable":true},
        {"txid":"bb","vout":0,"address":"ROther","amount":0.00010000,"spendable":true},
        {"txid":"cc","vout":0,"address":"RNotary","amount":1.5,"spendable":true},
        {"txid":"dd","vout":0,"address":"RNotary","amount":0.00010000,"spendable":false},
        {"txid":"ee","vout":0,"address":"RNotary","amount":0.00009999}
    ]"#;

    #[test]
    fn counts_outputs_of_exactly_ten_thousand_satoshis() {
        assert_eq!(count_in(UNSPENT, None), Some(3));
        assert_eq!(count_in(UNSPENT, Some("RNotary")), Some(2));
        assert_eq!(count_in("[]", None), Some(0));
        assert_eq!(count_in("{}", None), None);
    }

    #[test]
    fn amounts_in_satoshis() {
        assert_eq!(satoshis("0.00010000"), Some(10_000));
        assert_eq!(satoshis("1e-4"), Some(10_000));
        assert_eq!(satoshis("-1"), None);
        assert_eq!(satoshis("\"x\""), None);
    }
}
