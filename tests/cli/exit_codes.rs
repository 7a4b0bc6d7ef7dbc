//! The exit-code table has one source, `secrets::error::ExitStatus`: `--help` prints it and the
//! table in docs/commands.md lists exactly its codes.

use secrets::error::ExitStatus;

use crate::util::{Env, ok};

#[test]
fn help_prints_the_exit_status_table_of_the_enum() {
    let env = Env::new();
    let help = String::from_utf8(ok(env.secrets().arg("--help"))).unwrap();
    assert!(help.contains(&ExitStatus::help_table()), "{help}");
    for status in ExitStatus::ALL {
        assert!(
            help.contains(&format!("{:>3}", status.code())),
            "{status:?}"
        );
    }
}

#[test]
fn the_docs_table_lists_exactly_the_enum_codes() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/commands.md")).unwrap();
    let section = readme
        .split("### Exit status")
        .nth(1)
        .expect("docs/commands.md has an Exit status section");
    let codes: Vec<u8> = section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .filter_map(|l| l.split('|').nth(1)?.trim().parse().ok())
        .collect();
    let expected: Vec<u8> = ExitStatus::ALL.iter().map(|s| s.code()).collect();
    assert_eq!(
        codes, expected,
        "docs/commands.md exit codes differ from ExitStatus::ALL"
    );
}
