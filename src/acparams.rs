//! The `-ac_*` parameters komodod knows, how each one's value is written on the
//! command line, and how to check a value before it reaches komodod.
//!
//! (skeleton: to be filled in)

/// How komodod reads a parameter's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// One integer.
    Int,
    /// A comma-separated list of integers (one per era, or eval codes).
    IntList,
    /// Hex bytes.
    Hex,
    /// A word (an algorithm name, a cc library name, ...).
    Word,
}

#[derive(Debug)]
pub struct Param {
    /// The name as in the YAML, `ac_supply`; on komodod's command line `-ac_supply=`.
    pub name: &'static str,
    pub kind: Kind,
}

/// Every `-ac_*` parameter except `ac_name`.
pub const PARAMS: &[Param] = &[];

pub fn lookup(name: &str) -> Option<&'static Param> {
    PARAMS.iter().find(|p| p.name == name)
}

/// Checks a value exactly as it would be written after `-ac_x=`.
/// The error says what was expected, for example "a non-negative integer".
pub fn check(param: &Param, value: &str) -> Result<(), String> {
    let _ = (param, value);
    Ok(())
}
