//! iguana's elected file (`elected` for `iguana notary`, `3rd_party` for the
//! third-party iguana), which dPoW publishes each season: the dPoW port iguana
//! binds its bus on, and the seeds it needs at least 8 of (fewer crash it).
//! dokomodo reads the same file iguana reads, from iguana's working directory.

use std::path::Path;

use crate::json;

/// iguana crashes with fewer seeds than this (dPoW's `dpow_nanomsginit`).
pub const MIN_SEEDS: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Elected {
    /// The dPoW port: 13348 then 13848 for `notary` by season; 13345 then 13845
    /// for `3rd_party`.
    pub port: u16,
    /// The notaries' seed addresses, iguana's peers when `iguana.notaries` is empty.
    pub seeds: Vec<String>,
}

/// Reads and checks an elected file. The error says what is wrong, without
/// the file's name (the caller names it).
pub fn parse(text: &str) -> Result<Elected, String> {
    let members = json::members(text).ok_or("not one JSON object")?;
    let get = |key: &str| members.iter().find(|(k, _)| k == key).map(|(_, v)| *v);
    let port = get("port")
        .ok_or("no `port`")?
        .parse::<u16>()
        .ok()
        .filter(|p| *p > 0)
        .ok_or("`port` is not a port number")?;
    let seeds = get("seeds").ok_or("no `seeds`")?;
    let seeds = json::items(seeds)
        .ok_or("`seeds` is not a list")?
        .into_iter()
        .map(|raw| json::string(raw).ok_or("a seed is not a string"))
        .collect::<Result<Vec<String>, _>>()?;
    if seeds.len() < MIN_SEEDS {
        return Err(format!(
            "{} seeds; iguana needs at least {MIN_SEEDS} and crashes with fewer",
            seeds.len()
        ));
    }
    Ok(Elected { port, seeds })
}

/// `parse` of the file at `path`.
pub fn load(path: &Path) -> Result<Elected, String> {
    let text = std::fs::read_to_string(path).map_err(|e| crate::describe_io(&e))?;
    parse(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEEDS: &str =
        r#"["1.1.1.1","2.2.2.2","3.3.3.3","4.4.4.4","5.5.5.5","6.6.6.6","7.7.7.7","8.8.8.8"]"#;

    #[test]
    fn the_port_and_the_seeds() {
        let text = format!(
            "{{\n\t\"port\": 13848,\n\t\"minsigs\": 13,\n\t\"seeds\": {SEEDS},\n\"notaries\": []}}"
        );
        let elected = parse(&text).unwrap();
        assert_eq!(elected.port, 13848);
        assert_eq!(elected.seeds.len(), 8);
        assert_eq!(elected.seeds[7], "8.8.8.8");
    }

    #[test]
    fn what_iguana_cannot_use_is_refused() {
        assert_eq!(parse("[]"), Err("not one JSON object".into()));
        assert_eq!(
            parse(&format!("{{\"seeds\":{SEEDS}}}")),
            Err("no `port`".into())
        );
        assert_eq!(
            parse(&format!("{{\"port\":70000,\"seeds\":{SEEDS}}}")),
            Err("`port` is not a port number".into())
        );
        assert_eq!(
            parse(r#"{"port":13848,"seeds":["1.1.1.1"]}"#),
            Err("1 seeds; iguana needs at least 8 and crashes with fewer".into())
        );
    }
}
