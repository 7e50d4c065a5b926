fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(dokomodo::cli::main())
}
