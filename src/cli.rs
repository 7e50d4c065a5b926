//! The command line: parses arguments and wires the modules together.

use std::ffi::OsString;

pub fn main() -> u8 {
    let mut args: Vec<OsString> = std::env::args_os().skip(1).collect();
    if args.first().map(|a| a == "init").unwrap_or(false) {
        args.remove(0);
        return crate::supervise::init_command(args);
    }
    crate::exit::USAGE
}
