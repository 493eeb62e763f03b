//! Prints `docs/checks.md`, generated from the check registry:
//! `cargo run -p imgcheck-checks --example checks-doc > docs/checks.md`.

fn main() {
    print!("{}", imgcheck_checks::checks_markdown());
}
