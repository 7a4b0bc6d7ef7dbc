//! Bounded resources: hostile inputs get a clear error (exit 5, or 15 for `.sops.yaml`, or 3 for
//! an input over the size limit) or complete; never a stack overflow, a hang, or memory growing
//! without bound.

use crate::util::{Env, ok, run, stderr};

/// A YAML "billion laughs": 9 levels of aliases, each 9 times the one before (9^9 strings).
fn alias_bomb(prefix: &str) -> String {
    let mut s = format!("{prefix}a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10u8 {
        let (p, c) = ((b'a' + i - 1) as char, (b'a' + i) as char);
        let items = vec![format!("*{p}"); 9].join(", ");
        s.push_str(&format!("{prefix}{c}: &{c} [{items}]\n"));
    }
    s
}

/// Encrypting `name` fails with `code` and a message containing `needle`, nothing on stdout.
fn refused(env: &Env, name: &str, code: i32, needle: &str) {
    let out = run(
        env.secrets()
            .args(["encrypt", "--age", &env.recipient])
            .arg(name),
        code,
    );
    let err = stderr(&out);
    assert!(out.stdout.is_empty());
    assert!(err.contains(name) && err.contains(needle), "{name}: {err}");
}

#[test]
fn a_yaml_alias_bomb_is_refused() {
    let env = Env::new();
    env.write("bomb.yaml", alias_bomb(""));
    refused(&env, "bomb.yaml", 5, "aliases expand to more than");
}

#[test]
fn nesting_100_000_levels_deep_is_refused() {
    let env = Env::new();
    let n = 100_000;
    let (open, close) = ("[".repeat(n), "]".repeat(n));
    env.write("flow.yaml", format!("a: {open}{close}\n"));
    refused(&env, "flow.yaml", 5, "recursion limit");
    env.write("deep.json", format!("{{\"a\": {open}{close}}}\n"));
    refused(&env, "deep.json", 5, "nesting is too deep");
    env.write("arrays.toml", format!("a = {open}{close}\n"));
    refused(&env, "arrays.toml", 5, "recursion");
    let tables = format!("a = {}1{}\n", "{b = ".repeat(n), "}".repeat(n));
    env.write("tables.toml", tables);
    refused(&env, "tables.toml", 5, "recursion");
    env.write(
        "dotted.toml",
        format!("[{}]\nk = 1\n", vec!["a"; n].join(".")),
    );
    refused(&env, "dotted.toml", 5, "recursion");
}

/// Block nesting grows the file quadratically (indentation), so 2,500 levels (3 MB) stand in for
/// 100,000: saphyr's recursive loader overflowed the stack from about 2,000.
#[test]
fn deep_block_yaml_is_refused_without_a_stack_overflow() {
    let env = Env::new();
    let mut text = String::new();
    for i in 0..2_500 {
        text.push_str(&" ".repeat(i));
        text.push_str("k:\n");
    }
    text.push_str(&" ".repeat(2_500));
    text.push_str("k: v\n");
    env.write("block.yaml", text);
    refused(&env, "block.yaml", 5, "nesting is too deep");
}

#[test]
fn a_hostile_sops_yaml_is_refused() {
    let env = Env::new();
    env.write("c.yaml", "k: v\n");
    let n = 100_000;
    env.write(
        "deep.sops.yaml",
        format!("creation_rules: {}{}\n", "[".repeat(n), "]".repeat(n)),
    );
    let out = run(
        env.secrets()
            .args(["--config", "deep.sops.yaml", "encrypt", "c.yaml"]),
        15,
    );
    assert!(stderr(&out).contains("deep.sops.yaml"), "{}", stderr(&out));
    let bomb = alias_bomb("x") + &format!("creation_rules:\n  - age: {}\n", env.recipient);
    env.write("bomb.sops.yaml", bomb);
    let out = run(
        env.secrets()
            .args(["--config", "bomb.sops.yaml", "encrypt", "c.yaml"]),
        15,
    );
    assert!(
        stderr(&out).contains("more than 100000 nodes"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_10_mb_value_round_trips() {
    let env = Env::new();
    let plain = format!("k: {}\nother: 1\n", "x".repeat(10_000_000));
    env.write("big.yaml", &plain);
    let enc = ok(env
        .secrets()
        .args(["encrypt", "--age", &env.recipient, "big.yaml"]));
    env.write("big.enc.yaml", enc);
    let back = ok(env.secrets_with_key().args(["decrypt", "big.enc.yaml"]));
    assert!(
        back == plain.as_bytes(),
        "the 10 MB value did not round-trip"
    );
}

/// One line of 50 MB (a dotenv value) encrypts; the output is one line too.
#[test]
fn a_50_mb_line_completes() {
    let env = Env::new();
    env.write("long.env", format!("K={}\n", "y".repeat(50_000_000)));
    let enc = ok(env
        .secrets()
        .args(["encrypt", "--age", &env.recipient, "long.env"]));
    let first = enc.split(|&b| b == b'\n').next().unwrap();
    assert!(first.starts_with(b"K=ENC[AES256_GCM,data:") && first.len() > 66_000_000);
}

/// An input over the size limit (256 MiB by default, `SECRETS_MAX_INPUT`) is refused before
/// it is read (a file: its size is known) or as soon as the limit is passed (standard input),
/// with exit 3 and a hint naming the variable.
#[test]
fn an_input_over_the_size_limit_is_refused_before_it_is_read() {
    let env = Env::new();
    // 1 GiB, sparse: takes no disk space, and is never read.
    let f = std::fs::File::create(env.path("huge.yaml")).unwrap();
    f.set_len(1 << 30).unwrap();
    for cmd in [
        vec!["encrypt", "--age", &env.recipient, "huge.yaml"],
        vec!["decrypt", "huge.yaml"],
        vec!["filestatus", "huge.yaml"],
    ] {
        let out = run(env.secrets_with_key().args(&cmd), 3);
        let err = stderr(&out);
        assert!(
            err.contains("huge.yaml") && err.contains("256 MiB"),
            "{err}"
        );
        assert!(err.contains("SECRETS_MAX_INPUT"), "{err}");
    }
    // The limit is configurable, for files and for standard input.
    env.write("small.yaml", format!("k: {}\n", "v".repeat(3000)));
    let out = run(
        env.secrets().env("SECRETS_MAX_INPUT", "2K").args([
            "encrypt",
            "--age",
            &env.recipient,
            "small.yaml",
        ]),
        3,
    );
    assert!(stderr(&out).contains("2048 bytes"), "{}", stderr(&out));
    let mut cmd = env.secrets();
    cmd.env("SECRETS_MAX_INPUT", "2K")
        .args([
            "encrypt",
            "--age",
            &env.recipient,
            "--input-type",
            "yaml",
            "-",
        ])
        .stdin(std::fs::File::open(env.path("small.yaml")).unwrap());
    run(&mut cmd, 3);
    ok(env.secrets().env("SECRETS_MAX_INPUT", "4K").args([
        "encrypt",
        "--age",
        &env.recipient,
        "small.yaml",
    ]));
    run(
        env.secrets().env("SECRETS_MAX_INPUT", "lots").args([
            "encrypt",
            "--age",
            &env.recipient,
            "small.yaml",
        ]),
        3,
    );
}
