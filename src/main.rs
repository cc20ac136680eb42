fn main() -> std::process::ExitCode {
    claude_session::main()
}
